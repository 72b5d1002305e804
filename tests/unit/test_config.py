from pathlib import Path

import pytest

from ivr.config import ConfigError, load_settings


def test_environment_overrides_file(tmp_path: Path) -> None:
    conf = tmp_path / "ivr.yaml"
    conf.write_text("ami_host: 10.0.0.5\nagi_port: 4600\n")
    settings = load_settings(
        conf,
        env={
            "IVR_AMI_HOST": "127.0.0.2",
            "IVR_HTTP_BIND": "0.0.0.0:9000",
            "IVR_DATABASE_URL": "postgresql+psycopg://db/ivr",
        },
    )
    assert settings.ami_host == "127.0.0.2"
    assert settings.agi_port == 4600
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 9000)
    assert settings.database_url == "postgresql+psycopg://db/ivr"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("ami_hots: x\n", {}, "unknown setting 'ami_hots'"),
        ("agi_port: many\n", {}, "agi_port must be a whole number"),
        ("", {"IVR_AGI_BIND": "4573"}, "IVR_AGI_BIND: expected host:port"),
        ("- a\n", {}, "expected a mapping of settings"),
    ],
)
def test_bad_settings_are_clear_errors(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    conf = tmp_path / "ivr.yaml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(conf, env=env)


def test_secret_from_file_or_clear_error(tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_text("abc\n")
    assert load_settings(env={"IVR_AMI_SECRET_FILE": str(secret)}).resolved_ami_secret() == "abc"
    missing = load_settings(env={"IVR_AMI_SECRET_FILE": str(tmp_path / "none")})
    with pytest.raises(ConfigError, match="set IVR_AMI_SECRET or IVR_AMI_SECRET_FILE"):
        missing.resolved_ami_secret()

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
        ("http_header_timeout: 0\n", {}, "http_header_timeout must be a finite number above 0"),
        ("", {"IVR_HTTP_MAX_STREAMS": "-1"}, "IVR_HTTP_MAX_STREAMS: http_max_streams must be"),
        ("", {"IVR_HTTP_BODY_TIMEOUT": "nan"}, "http_body_timeout must be a finite number"),
        ("", {"IVR_FD_RESERVE": "-5"}, "fd_reserve must be 0 \\(automatic\\) or more"),
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


def test_http_limits_from_the_environment() -> None:
    settings = load_settings(
        env={
            "IVR_HTTP_HEADER_TIMEOUT": "2.5",
            "IVR_HTTP_KEEPALIVE_TIMEOUT": "7",
            "IVR_HTTP_BODY_TIMEOUT": "4",
            "IVR_HTTP_MAX_BODY_BYTES": "2048",
            "IVR_HTTP_MAX_CONNECTIONS": "50",
            "IVR_HTTP_MAX_STREAMS": "10",
            "IVR_FD_RESERVE": "300",
        }
    )
    assert (
        settings.http_header_timeout,
        settings.http_keepalive_timeout,
        settings.http_body_timeout,
        settings.http_max_body_bytes,
        settings.http_max_connections,
        settings.http_max_streams,
        settings.fd_reserve,
    ) == (2.5, 7.0, 4.0, 2048, 50, 10, 300)


def test_database_timeouts_come_from_the_environment_and_are_checked() -> None:
    env = {"IVR_DB_CALL_TIMEOUT": "0.5", "IVR_DB_STATEMENT_TIMEOUT": "0"}
    settings = load_settings(env=env)
    assert (settings.db_call_timeout, settings.db_statement_timeout) == (0.5, 0.0)
    with pytest.raises(ConfigError, match=r"db_statement_timeout must be 0 \(none\) or more"):
        load_settings(env={"IVR_DB_STATEMENT_TIMEOUT": "-1"})
    with pytest.raises(ConfigError, match="db_api_timeout must be a finite number above 0"):
        load_settings(env={"IVR_DB_API_TIMEOUT": "0"})


def test_one_asterisk_by_default_several_when_listed(tmp_path: Path) -> None:
    [only] = load_settings(env={"IVR_ASTERISK_NAME": "ast-kyiv"}).asterisk_servers()
    assert (only.name, only.ami_host, only.ami_port) == ("ast-kyiv", "127.0.0.1", 5038)
    for name in ("ast1", "ast2"):
        (tmp_path / f"{name}.secret").write_text(f"secret-of-{name}\n")
    settings = load_settings(
        env={
            "IVR_ASTERISKS": "ast1=127.0.0.1:5038, ast2=10.87.0.2:5039",
            "IVR_AMI_SECRET_FILE": str(tmp_path / "{asterisk}.secret"),
        }
    )
    servers = settings.asterisk_servers()
    assert [(s.name, s.ami_host, s.ami_port) for s in servers] == [
        ("ast1", "127.0.0.1", 5038),
        ("ast2", "10.87.0.2", 5039),
    ]
    assert settings.resolved_ami_secret("ast2") == "secret-of-ast2"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IVR_ASTERISKS": "ast1"}, "expected name=host:port"),
        ({"IVR_ASTERISKS": "ast1=10.0.0.1"}, "expected host:port"),
        ({"IVR_ASTERISKS": "a=h:1 a=h:2"}, "listed twice"),
        ({"IVR_ASTERISKS": "bad name!=h:1"}, "expected name=host:port"),
        ({"IVR_ASTERISK_NAME": ""}, "must be a name"),
        ({"IVR_LEASE_TTL": "1", "IVR_LEASE_RENEW": "1"}, "must be below lease_ttl"),
        ({"IVR_LEASE_TTL": "0"}, "above 0"),
    ],
)
def test_bad_high_availability_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_the_handle_time_window_and_refresh_are_settings() -> None:
    settings = load_settings(env={"IVR_HANDLE_TIME_WINDOW": "600", "IVR_HANDLE_TIME_REFRESH": "5"})
    assert (settings.handle_time_window, settings.handle_time_refresh) == (600.0, 5.0)
    assert load_settings(env={}).handle_time_window == 3600.0
    for name in ("IVR_HANDLE_TIME_WINDOW", "IVR_HANDLE_TIME_REFRESH"):
        with pytest.raises(ConfigError, match=r"handle_time_\w+ must be a finite number above 0"):
            load_settings(env={name: "0"})

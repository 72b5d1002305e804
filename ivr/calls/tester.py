"""The AMI connection test calls use: the sandbox's tester user by default."""

from pathlib import Path

from ivr.config import ConfigError, Settings, sandbox_secret_file
from ivr.telephony.ami import AmiClient


def tester_ami(
    settings: Settings,
    user: str = "ivr-tester",
    secret_file: str | None = None,
    events: str = "on",
) -> AmiClient:
    path = Path(secret_file) if secret_file else sandbox_secret_file(settings.sandbox_dir, user)
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"AMI secret for {user}: cannot read {path} ({exc.strerror}); "
            "run `ivr sandbox up` or pass --ami-secret-file"
        ) from exc
    return AmiClient(settings.ami_host, settings.ami_port, user, secret, events=events)

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


async def set_global(ami: AmiClient, name: str, value: str) -> None:
    """Set a dialplan global (AMI Setvar without a channel)."""
    await ami.send({"Action": "Setvar", "Variable": name, "Value": value})


async def agent_behaves(ami: AmiClient, agent_id: str, answer: str, talk: str) -> None:
    """A sandbox agent (Local/<id>@ivr-test-agent) picks up after `answer` seconds (or
    "never") and talks `talk` seconds."""
    await set_global(ami, f"IVR_TEST_AGENT_{agent_id}_ANSWER", answer)
    await set_global(ami, f"IVR_TEST_AGENT_{agent_id}_TALK", talk)


async def callee_behaves(
    ami: AmiClient, phone: str, answer: str | None = None, talk: str | None = None
) -> None:
    """A sandbox callback target (Local/<phone>@ivr-test-callee), named by the phone's
    digits as [ivr-test-callee] does; None leaves a setting as it is."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if answer is not None:
        await set_global(ami, f"IVR_TEST_CALLEE_{digits}_ANSWER", answer)
    if talk is not None:
        await set_global(ami, f"IVR_TEST_CALLEE_{digits}_TALK", talk)

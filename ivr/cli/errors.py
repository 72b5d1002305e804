"""Errors a user can act on: printed as one clear line instead of a traceback."""

from ivr.flow.graph import GraphError
from ivr.flow.loader import FlowError
from ivr.queues.model import QueuesConfigError
from ivr.sandbox.chroot import SandboxError
from ivr.telephony.sip_config import TelephonyConfigError
from ivr.telephony.sip_secrets import SipSecretsError


def user_facing(exc: BaseException) -> str | None:
    if isinstance(exc, FlowError):
        return "invalid flows:\n  " + "\n  ".join(exc.errors)
    if isinstance(
        exc, QueuesConfigError | SandboxError | GraphError | TelephonyConfigError | SipSecretsError
    ):
        return str(exc)
    return None

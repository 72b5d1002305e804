"""Errors a user can act on: printed as one clear line instead of a traceback."""

from ivr.flow.graph import GraphError
from ivr.flow.loader import FlowError
from ivr.queues.model import QueuesConfigError
from ivr.sandbox.chroot import SandboxError


def user_facing(exc: BaseException) -> str | None:
    if isinstance(exc, FlowError):
        return "invalid flows:\n  " + "\n  ".join(exc.errors)
    if isinstance(exc, QueuesConfigError | SandboxError | GraphError):
        return str(exc)
    return None

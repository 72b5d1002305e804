"""Typed domain events: what the engine tells the rest of the system."""

from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CallStarted:
    """The engine picked up a call on a line (FastAGI request arrived)."""

    call_id: str
    line: str
    caller: str
    channel: str
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallRouted:
    """The voice menu finished and the call was sent to a queue."""

    call_id: str
    line: str
    caller: str
    queue: str
    caller_class: str
    priority: int
    menu_path: tuple[str, ...]
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallFellBack:
    """The dialplan's fallback path served the call (engine down, crashed or too slow)."""

    call_id: str
    line: str
    caller: str
    queue: str
    reason: str
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallQueued:
    """Asterisk put the caller into a queue (QueueCallerJoin)."""

    call_id: str
    queue: str
    position: int
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallEnded:
    """The caller's channel hung up."""

    call_id: str
    cause: str
    at: datetime = field(default_factory=utcnow)


Event = CallStarted | CallRouted | CallFellBack | CallQueued | CallEnded

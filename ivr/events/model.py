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


@dataclass(frozen=True)
class CallFinishedInMenu:
    """The flow ended the call itself (self-service done, or a hangup node)."""

    call_id: str
    line: str
    caller: str
    menu_path: tuple[str, ...]
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class MeterReadingSubmitted:
    """A meter reading taken by the voice menu (self-service, 24/7)."""

    call_id: str
    line: str
    caller: str
    contract: str
    subscriber_id: int | None
    reading: str
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class UnreachableReported:
    """A caller reports that another service number did not work. The report is logged
    against `reported_line`, the number that could not be reached."""

    call_id: str
    reported_line: str
    via_line: str  # the line this call came in on
    published: str  # where the caller got the number (site, leaflet, advert, bill, ...)
    dialled_from: str  # the number the caller dialled from when it failed
    problem: str  # no_answer | no_operator | ivr_sound | other
    caller: str  # this call's caller number: the contact phone
    subscriber_id: int | None = None
    contract: str = ""
    full_name: str = ""
    address: str = ""
    details: str = ""
    source: str = "ivr"  # ivr (self-service) or operator
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallbackRequested:
    """The caller asked to be called back; `promised_by` is what the caller was told."""

    call_id: str
    line: str
    phone: str
    name: str
    queue: str
    caller_class: str
    promised_by: datetime
    at: datetime = field(default_factory=utcnow)


Event = (
    CallStarted
    | CallRouted
    | CallFellBack
    | CallQueued
    | CallEnded
    | CallFinishedInMenu
    | MeterReadingSubmitted
    | UnreachableReported
    | CallbackRequested
)

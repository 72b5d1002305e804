"""Asterisk's AMI events as typed values: each raw event is parsed once, here, and handed to
the subscribers of its type.

A class is named as Asterisk names its event (QueueCallerJoin, Hangup...); the engine's own
UserEvents are named by their UserEvent header (IvrFallback...). Only the events and fields
the engine reads are kept. `AmiEvents` is what the AMI client calls for every event whose
name a subscriber's types declare (`names()`); a subscriber that raises is logged and the
others still get the event.
"""

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ivr.telephony import names

log = logging.getLogger(__name__)

Message = Mapping[str, Any]  # a panoramisk Message, or a recorded one in a test


@dataclass(frozen=True)
class AmiEvent:
    EVENT: ClassVar[str] = ""  # the Event header (set on each concrete class)


# --- callers in app_queue ----------------------------------------------------------------


@dataclass(frozen=True)
class CallerEvent(AmiEvent):
    call_id: str  # Uniqueid
    channel: str
    queue: str


@dataclass(frozen=True)
class QueueCallerJoin(CallerEvent):
    EVENT = "QueueCallerJoin"
    position: int = 0
    caller_number: str = ""  # CallerIDNum


@dataclass(frozen=True)
class QueueCallerLeave(CallerEvent):
    EVENT = "QueueCallerLeave"


@dataclass(frozen=True)
class QueueCallerAbandon(CallerEvent):
    EVENT = "QueueCallerAbandon"


# --- a caller and an agent (member) ------------------------------------------------------


@dataclass(frozen=True)
class AgentEvent(CallerEvent):
    """`channel` is the caller's; `dest_channel` the agent's leg."""

    interface: str = ""
    member_name: str = ""
    dest_channel: str = ""
    ring: float = 0.0  # s the agent's phone rang (RingTime)


@dataclass(frozen=True)
class AgentConnect(AgentEvent):
    EVENT = "AgentConnect"


@dataclass(frozen=True)
class AgentRingNoAnswer(AgentEvent):
    """Its RingTime is in ms (AgentConnect's in s): `ring` is in s for both."""

    EVENT = "AgentRingNoAnswer"


@dataclass(frozen=True)
class AgentComplete(AgentEvent):
    EVENT = "AgentComplete"
    reason: str = ""  # who hung up: caller, agent, transfer


@dataclass(frozen=True)
class Hangup(AmiEvent):
    EVENT = "Hangup"
    call_id: str
    channel: str
    cause: str  # Cause-txt


# --- queue members -----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberEvent(AmiEvent):
    """A member's state; None: the event does not say."""

    queue: str
    interface: str  # Interface (QueueStatus: Location)
    member_name: str  # MemberName (QueueStatus: Name)
    paused: bool | None = None
    reason: str = ""  # PausedReason (older Asterisk: Reason)
    status: str | None = None  # AST_DEVICE_* as a number
    in_call: bool = False


@dataclass(frozen=True)
class QueueMember(MemberEvent):
    """One member in QueueStatus's reply."""

    EVENT = "QueueMember"


@dataclass(frozen=True)
class QueueMemberAdded(MemberEvent):
    EVENT = "QueueMemberAdded"


@dataclass(frozen=True)
class QueueMemberRemoved(MemberEvent):
    EVENT = "QueueMemberRemoved"


@dataclass(frozen=True)
class QueueMemberPause(MemberEvent):
    EVENT = "QueueMemberPause"


@dataclass(frozen=True)
class QueueMemberStatus(MemberEvent):
    EVENT = "QueueMemberStatus"


# --- the rest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OriginateResponse(AmiEvent):
    EVENT = "OriginateResponse"
    action_id: str
    reason: str  # the outbound channel's last control frame, "0" if none


@dataclass(frozen=True)
class UserEvent(AmiEvent):
    """One of the dialplan's UserEvents. The call's id and number come from the channel's
    own headers (Uniqueid, CallerIDNum), never from fields the dialplan filled in."""

    EVENT = "UserEvent"
    USER_EVENT: ClassVar[str] = ""
    call_id: str
    caller_number: str
    line: str  # Line
    caller_class: str  # Class


@dataclass(frozen=True)
class IvrFallback(UserEvent):
    USER_EVENT = names.EVENT_FALLBACK
    queue: str = ""
    reason: str = ""


@dataclass(frozen=True)
class IvrRoute(UserEvent):
    """The dialplan queues a caller the engine (any engine) routed."""

    USER_EVENT = names.EVENT_ROUTE
    queue: str = ""
    priority: int = 0  # QueuePriority
    language: str = ""  # MenuLanguage (the channel's own Language header is Asterisk's)
    path: str = ""  # the menu path, e.g. "main:1>internet:2"


@dataclass(frozen=True)
class IvrSelfService(UserEvent):
    """The menu (any engine's) served the caller itself; the dialplan hangs up."""

    USER_EVENT = names.EVENT_SELF_SERVICE


@dataclass(frozen=True)
class IvrCallbackAccepted(UserEvent):
    USER_EVENT = names.EVENT_CALLBACK_ACCEPTED


@dataclass(frozen=True)
class IvrCallbackAnswered(UserEvent):
    USER_EVENT = names.EVENT_CALLBACK_ANSWERED
    priority: int = 0  # QueuePriority
    language: str = ""  # MenuLanguage: the language of the call that asked for it


# --- parsing -----------------------------------------------------------------------------


def _text(message: Message, key: str) -> str:
    value = message.get(key, "")
    return value if isinstance(value, str) else ""


def _number(text: str) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


def _integer(text: str) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _caller(kind: type[CallerEvent], m: Message) -> CallerEvent:
    return kind(_text(m, "Uniqueid"), _text(m, "Channel"), _text(m, "Queue"))


def _join(m: Message) -> QueueCallerJoin:
    position = _text(m, "Position")
    return QueueCallerJoin(
        _text(m, "Uniqueid"),
        _text(m, "Channel"),
        _text(m, "Queue"),
        int(position) if position.isdigit() else 0,
        _text(m, "CallerIDNum"),
    )


def _agent(kind: type[AgentEvent], m: Message, **more: Any) -> AgentEvent:
    return kind(
        _text(m, "Uniqueid"),
        _text(m, "Channel"),
        _text(m, "Queue"),
        interface=_text(m, "Interface"),
        member_name=_text(m, "MemberName"),
        dest_channel=_text(m, "DestChannel"),
        **more,
    )


def _member(kind: type[MemberEvent], m: Message) -> MemberEvent:
    paused = _text(m, "Paused") == "1" if "Paused" in m else None
    return kind(
        _text(m, "Queue"),
        _text(m, "Interface") or _text(m, "Location"),
        _text(m, "MemberName") or _text(m, "Name"),
        paused=paused,
        reason=_text(m, "PausedReason") or _text(m, "Reason"),
        status=_text(m, "Status") if "Status" in m else None,
        in_call=_text(m, "InCall") == "1",
    )


def _user_event(m: Message) -> UserEvent | None:
    kind = USER_EVENTS.get(_text(m, "UserEvent"))
    if kind is None:
        return None
    head = (_text(m, "Uniqueid"), _text(m, "CallerIDNum"), _text(m, "Line"), _text(m, "Class"))
    if kind is IvrFallback:
        return IvrFallback(*head, queue=_text(m, "Queue"), reason=_text(m, "Reason"))
    if kind is IvrRoute:
        return IvrRoute(
            *head,
            queue=_text(m, "Queue"),
            priority=_integer(_text(m, "QueuePriority")),
            language=_text(m, "MenuLanguage"),
            path=_text(m, "Path"),
        )
    if kind is IvrCallbackAnswered:
        return IvrCallbackAnswered(
            *head,
            priority=_integer(_text(m, "QueuePriority")),
            language=_text(m, "MenuLanguage"),
        )
    return kind(*head)


USER_EVENTS: Mapping[str, type[UserEvent]] = {
    kind.USER_EVENT: kind
    for kind in (IvrFallback, IvrRoute, IvrSelfService, IvrCallbackAccepted, IvrCallbackAnswered)
}

# Event header -> its parser: the events the engine reads.
PARSERS: Mapping[str, Callable[[Message], AmiEvent | None]] = {
    "QueueCallerJoin": _join,
    "QueueCallerLeave": lambda m: _caller(QueueCallerLeave, m),
    "QueueCallerAbandon": lambda m: _caller(QueueCallerAbandon, m),
    "AgentConnect": lambda m: _agent(AgentConnect, m, ring=_number(_text(m, "RingTime"))),
    "AgentRingNoAnswer": lambda m: _agent(
        AgentRingNoAnswer, m, ring=_number(_text(m, "RingTime")) / 1000
    ),
    "AgentComplete": lambda m: _agent(AgentComplete, m, reason=_text(m, "Reason")),
    "Hangup": lambda m: Hangup(_text(m, "Uniqueid"), _text(m, "Channel"), _text(m, "Cause-txt")),
    "QueueMember": lambda m: _member(QueueMember, m),
    "QueueMemberAdded": lambda m: _member(QueueMemberAdded, m),
    "QueueMemberRemoved": lambda m: _member(QueueMemberRemoved, m),
    "QueueMemberPause": lambda m: _member(QueueMemberPause, m),
    "QueueMemberStatus": lambda m: _member(QueueMemberStatus, m),
    "OriginateResponse": lambda m: OriginateResponse(
        _text(m, "ActionID"), _text(m, "Reason") or "0"
    ),
    "UserEvent": _user_event,
}


def parse(message: Message) -> AmiEvent | None:
    """The typed event of a raw AMI message; None for one the engine does not read."""
    parser = PARSERS.get(_text(message, "Event"))
    return parser(message) if parser is not None else None


def _concrete(kind: type[AmiEvent]) -> list[type[AmiEvent]]:
    """`kind` and its subclasses that are parsed from an Event."""
    found = [kind] if kind.EVENT else []
    for sub in kind.__subclasses__():
        found.extend(_concrete(sub))
    return found


# --- dispatch ----------------------------------------------------------------------------

E = TypeVar("E", bound=AmiEvent)


class AmiEvents:
    """Parse each AMI event once; hand it to every subscriber of its type (or a base type),
    in the order they subscribed."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[tuple[type[AmiEvent], ...], Callable[[Any], None]]] = []
        self._handlers: dict[type[AmiEvent], list[Callable[[Any], None]]] = {}  # per type

    def subscribe(self, kinds: Iterable[type[E]], handler: Callable[[E], None]) -> None:
        self._subscribers.append((tuple(kinds), handler))
        self._handlers.clear()

    def _handlers_of(self, kind: type[AmiEvent]) -> list[Callable[[Any], None]]:
        handlers = self._handlers.get(kind)
        if handlers is None:
            handlers = [h for kinds, h in self._subscribers if issubclass(kind, kinds)]
            self._handlers[kind] = handlers
        return handlers

    def names(self) -> list[str]:
        """The Event headers the subscribers' types need, each once."""
        out: list[str] = []
        for kinds, _ in self._subscribers:
            for kind in kinds:
                for concrete in _concrete(kind):
                    if concrete.EVENT not in out and concrete.EVENT in PARSERS:
                        out.append(concrete.EVENT)
        return out

    def __call__(self, message: Message) -> None:
        event = parse(message)
        if event is None:
            return
        for handler in self._handlers_of(type(event)):
            try:
                handler(event)
            except Exception:
                log.exception("AMI event subscriber %r failed on %s", handler, event)

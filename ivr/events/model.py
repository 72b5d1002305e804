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
    language: str = ""  # the caller's language at the end of the menu
    subscriber_id: int | None = None  # the subscriber the menu identified (screen pop)
    keys: tuple[str, ...] | None = None  # per input request, as --dtmf (None: not known)


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
    keys: tuple[str, ...] | None = None  # per input request, as --dtmf (None: not known)


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
    # When the caller started waiting for an operator (a callback offered in the queue keeps
    # the caller's place); None: the request itself (a callback asked for in the menu).
    waiting_since: datetime | None = None
    language: str = ""  # the language his call used ("": the prompts' default)
    # Not dialled before (the next opening of operator hours); None: at once.
    dial_from: datetime | None = None


# --- queues: answer target, talk guideline, callbacks (from the monitors) -----------------


@dataclass(frozen=True)
class CallAnswered:
    """An operator picked up a queued caller (AgentConnect). `wait` is measured by the
    engine from the caller's first QueueCallerJoin, in seconds."""

    call_id: str
    queue: str
    agent: str  # the member name (agent id)
    agent_channel: str
    wait: float
    target_met: bool  # answered within the queue's answer target
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallAbandoned:
    """The caller hung up while waiting in a queue (QueueCallerAbandon)."""

    call_id: str
    queue: str
    wait: float
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class WaitPredicted:
    """The engine predicted a caller's wait when he joined a queue (ivr.routing.predict);
    `predicted` is None when nobody was on duty (no prediction can be made)."""

    call_id: str
    queue: str
    position: int
    ready: int  # agents of the queue ready
    busy: int  # agents of the queue in a call or ringing
    handle_time: float  # s: the queue's average handle time used
    predicted: float | None
    target: float  # the queue's answer target
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class AnswerTargetMissed:
    """A caller has waited past the queue's answer target without being answered."""

    call_id: str
    queue: str
    line: str
    wait: float
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallEscalated:
    """One escalation step ran for a waiting caller (each step is done once per call; a
    failed attempt is published as failed and retried)."""

    call_id: str
    queue: str
    step: str  # raise_priority | overflow | offer_callback
    detail: str  # e.g. "priority 5 -> 8", "to senior"
    wait: float
    at: datetime = field(default_factory=utcnow)
    late: float = 0.0  # s after its time (an AMI outage, a retry, a caller adopted late)
    failed: bool = False  # this attempt failed: the step is retried, not done
    attempt: int = 1


@dataclass(frozen=True)
class TalkLimitReached:
    """An answered call reached a talk-time mark: `warning`, `guideline` (the 5-minute
    guideline: the call is recorded as over it) or `hard_limit` (the call is ended)."""

    call_id: str
    queue: str
    agent: str
    agent_channel: str
    level: str  # warning | guideline | hard_limit
    talk: float
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallCompleted:
    """An answered call ended (AgentComplete)."""

    call_id: str
    queue: str
    agent: str
    talk: float
    ended_by: str  # caller | agent | transfer (AgentComplete) | hard_limit (the engine)
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallbackAttempted:
    """The engine called a caller back; `final` when no attempt follows."""

    callback_id: int
    phone: str
    attempt: int
    outcome: str  # answered | no_answer | busy | failed
    final: bool
    at: datetime = field(default_factory=utcnow)
    call_id: str = ""  # the call the request came from ("" if none: an operator's)
    queue: str = ""


@dataclass(frozen=True)
class AgentChanged:
    """An agent's state as app_queue reports it (login, logout, pause, ready, in call)."""

    agent: str
    queue: str
    state: str  # ready | paused | logged_out | in_call | ringing | unavailable
    reason: str = ""
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class AgentRang:
    """app_queue rang an agent for a caller: answered (AgentConnect) or not
    (AgentRingNoAnswer). `ring` is the ring time in seconds, as app_queue measured it."""

    agent: str
    queue: str
    call_id: str
    ring: float
    answered: bool
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallMonitored:
    """A supervisor's phone was rung into a live call (ChanSpy on the agent's channel):
    `listen` (nobody hears him), `whisper` (the agent only) or `barge` (both sides)."""

    monitor_id: int  # its row in the supervision log
    call_id: str
    agent: str
    mode: str  # listen | whisper | barge
    phone: str  # the supervisor's phone (PJSIP endpoint)
    by: str  # who asked: the API token's role and hash prefix ("supervisor sha256:3f2a9c1e")
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class OutageSuspected:
    """A spike of calls for one city, line and first menu choice (ivr.outages.detector):
    `calls` in the last `window` seconds against `usual` for that hour of the week. The
    alert (its row `alert_id`) waits for a supervisor to post or dismiss it."""

    alert_id: int
    city: str
    line: str
    choice: str  # the first menu choice, e.g. "menu:2"
    calls: int
    usual: float
    window: float
    message: str  # the prefilled outage announcement
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class OutageSubsided:
    """The spike of calls for one city, line and first menu choice is over."""

    city: str
    line: str
    choice: str
    calls: int
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
    | CallAnswered
    | CallAbandoned
    | WaitPredicted
    | AnswerTargetMissed
    | CallEscalated
    | TalkLimitReached
    | CallCompleted
    | CallbackAttempted
    | AgentChanged
    | AgentRang
    | CallMonitored
    | OutageSuspected
    | OutageSubsided
)

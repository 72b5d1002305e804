"""Resync the queue monitors with Asterisk after an AMI (re)connect and at engine start.

While the engine does not hear AMI (down, restarting, a connection lost) callers join, leave
and hang up, and agents answer. Afterwards the engine asks Asterisk what is true now:
QueueStatus (every caller app_queue holds, with its wait and current priority) and Status
with the variables the dialplan and app_queue set on each channel (IVR_CLASS, IVR_LINE, when
the caller last entered Queue() and how long he waited there). Pure functions turn the
replies into the monitors' input; `Resync.run` asks and hands over.
"""

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ivr.monitors.talk import Talking, TalkMonitor
from ivr.monitors.waiting import Queued, WaitingMonitor
from ivr.queues.model import QueuesConfig
from ivr.telephony import names

log = logging.getLogger(__name__)

Message = Mapping[str, object]
QUEUE_WAIT = "QUEUEWAIT"  # app_queue, on the caller at the answer: s waited in Queue()
LANGUAGE = "CHANNEL(language)"
UNSET = "(null)"  # how Status shows a variable the channel does not have
STATUS_VARIABLES = (
    names.VAR_CALLER_CLASS,
    names.VAR_LINE,
    names.VAR_QUEUED_AT,
    names.VAR_FIRST_QUEUED_AT,
    names.VAR_LADDER,
    names.VAR_STEPS_DONE,
    QUEUE_WAIT,
    LANGUAGE,
)
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]+(;\d)?$")  # PJSIP/1001-0000002a, Local/...-0001;1


class ResyncActions(Protocol):
    async def status(self) -> Sequence[Message]: ...  # QueueStatus
    async def channels(self, variables: Sequence[str]) -> Sequence[Message]: ...  # Status


@dataclass(frozen=True)
class ChannelState:
    """One channel as the Status action reports it."""

    call_id: str
    channel: str
    bridge: str
    seconds: float  # since the channel was created
    application: str
    data: str
    variables: Mapping[str, str]


def _text(message: Message, key: str) -> str:
    value = message.get(key, "")
    return value if isinstance(value, str) else ""


def _number(text: str, default: float = 0.0) -> float:
    try:
        return float(text)
    except ValueError:
        return default


def variables(value: object) -> dict[str, str]:
    """Status's `Variable: NAME=value` headers (one is a string, several a list); an unset
    variable reads "(null)": left out."""
    lines = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    out: dict[str, str] = {}
    for line in lines:
        name, _, text = str(line).partition("=")
        if text != UNSET:
            out[name] = text
    return out


def channel_states(messages: Iterable[Message]) -> dict[str, ChannelState]:
    """The Status reply's channels by call id (Uniqueid)."""
    out: dict[str, ChannelState] = {}
    for m in messages:
        if m.get("Event") != "Status" or not _text(m, "Uniqueid"):
            continue
        out[_text(m, "Uniqueid")] = ChannelState(
            call_id=_text(m, "Uniqueid"),
            channel=_text(m, "Channel"),
            bridge=_text(m, "BridgeID"),
            seconds=_number(_text(m, "Seconds")),
            application=_text(m, "Application"),
            data=_text(m, "Data"),
            variables=variables(m.get("Variable")),
        )
    return out


def queued_callers(
    queue_status: Iterable[Message], channels: Mapping[str, ChannelState], epoch: float
) -> list[Queued]:
    """The callers app_queue holds (QueueEntry), with what their channels say of them. The
    wait is app_queue's (whole seconds since the last entry into Queue()) or, when
    IVR_QUEUED_AT agrees with it, to the ms since the first entry (IVR_FIRST_QUEUED_AT: an
    overflow or a key press does not restart the clock)."""
    out: list[Queued] = []
    for m in queue_status:
        if m.get("Event") != "QueueEntry":
            continue
        call_id = _text(m, "Uniqueid")
        known = channels.get(call_id)
        values = known.variables if known else {}
        caller = _text(m, "CallerIDNum")
        wait = _number(_text(m, "Wait"))
        queued_at = _number(values.get(names.VAR_QUEUED_AT, ""), -1.0)
        if queued_at > 0 and abs(epoch - queued_at - wait) < 1.5:  # this entry's, not older
            first = _number(values.get(names.VAR_FIRST_QUEUED_AT, ""), queued_at)
            wait = max(0.0, epoch - min(first, queued_at))  # from the first join
        out.append(
            Queued(
                call_id=call_id,
                channel=_text(m, "Channel"),
                queue=_text(m, "Queue"),
                wait=wait,
                priority=int(_number(_text(m, "Priority"))),
                caller="" if caller == "unknown" else caller,
                line=values.get(names.VAR_LINE, ""),
                caller_class=values.get(names.VAR_CALLER_CLASS, ""),
                language=values.get(LANGUAGE, ""),
                ladder=values.get(names.VAR_LADDER, ""),
                done=steps_done(values.get(names.VAR_STEPS_DONE, "")),
            )
        )
    return out


def steps_done(text: str) -> tuple[int, ...]:
    """IVR_STEPS_DONE ("0 2") as step indexes; anything else is ignored."""
    return tuple(sorted({int(word) for word in text.split() if word.isdigit()}))


def interface_of(channel: str) -> str:
    """The member interface a channel was dialled on: PJSIP/1001-0000002a -> PJSIP/1001."""
    return _CHANNEL_SUFFIX.sub("", channel)


def talks_in_progress(
    channels: Mapping[str, ChannelState], queues: QueuesConfig, epoch: float
) -> list[Talking]:
    """Callers in Queue() bridged to an agent, and since when (s ago) they talk: from the
    time they entered Queue() (IVR_QUEUED_AT, set by the dialplan) plus app_queue's wait
    (QUEUEWAIT, set at the answer); else, at most a ring time early, the agent leg's age."""
    agents = {spec.interface: spec.id for spec in queues.agents.values()}
    by_bridge: dict[str, list[ChannelState]] = {}
    for state in channels.values():
        if state.bridge:
            by_bridge.setdefault(state.bridge, []).append(state)
    out: list[Talking] = []
    for state in channels.values():
        if state.application != "Queue" or not state.bridge:
            continue
        peers = [p for p in by_bridge[state.bridge] if p.call_id != state.call_id]
        if not peers:
            continue
        agent = peers[0]
        talking = agent.seconds
        queued_at = _number(state.variables.get(names.VAR_QUEUED_AT, ""), -1.0)
        waited = _number(state.variables.get(QUEUE_WAIT, ""), -1.0)
        if queued_at > 0 and waited >= 0:
            talking = max(0.0, epoch - queued_at - waited)
        out.append(
            Talking(
                call_id=state.call_id,
                queue=state.data.split(",", 1)[0],
                agent=agents.get(interface_of(agent.channel), ""),
                agent_channel=agent.channel,
                caller_channel=state.channel,
                talking=talking,
                waited=waited if waited >= 0 else None,
            )
        )
    return out


class Resync:
    """`run()` after every AMI login (FullyBooted) and so at engine start."""

    def __init__(
        self,
        actions: ResyncActions,
        waiting: WaitingMonitor,
        talk: TalkMonitor,
        queues: Callable[[], QueuesConfig],
        epoch: Callable[[], float] = time.time,
    ) -> None:
        self._actions = actions
        self._waiting = waiting
        self._talk = talk
        self._queues = queues
        self._epoch = epoch

    async def run(self) -> None:
        self._waiting.snapshot_asked()
        self._talk.snapshot_asked()
        try:
            entries = await self._actions.status()
            channels = channel_states(await self._actions.channels(STATUS_VARIABLES))
        except BaseException:
            self._waiting.resync_abandoned()
            self._talk.resync_abandoned()
            raise
        alive = channels.keys()
        epoch = self._epoch()
        waiting = self._waiting.resync(queued_callers(entries, channels, epoch), alive)
        found = talks_in_progress(channels, self._queues(), epoch)
        talks = self._talk.resync(found, alive)
        for talk in found:
            if talk.call_id in talks.adopted:
                self._waiting.answered_meanwhile(talk)
        log.info(
            "resynced with Asterisk: %d callers adopted, %d gone dropped; %d talks adopted, "
            "%d gone dropped",
            len(waiting.adopted),
            len(waiting.dropped),
            len(talks.adopted),
            len(talks.dropped),
        )

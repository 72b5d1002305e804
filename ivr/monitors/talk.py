"""The 5-minute talk guideline, live.

app_queue reports talk time only when a call ends (AgentComplete), so the engine times each
answered call from AgentConnect. At the warning point and at the guideline the agent hears
a whisper beep (only the agent: a Local leg running ChanSpy whisper on the agent's channel;
an agent behind a Local interface is reached on the channel the caller is bridged with, as
Asterisk optimises the Local one away), supervisors get an
event (TalkLimitReached, also sent as the AMI UserEvent IvrTalkLimit) and the call is
recorded as over the guideline. The optional hard limit (off by default) ends the call:
the engine hangs the caller up and records the call at once (talk time up to its hangup,
ended by ENDED_BY_LIMIT), without waiting for an AgentComplete that may never come and that
would say "caller" for a hangup the engine made.
After an AMI (re)connect `resync` adopts the talks that began meanwhile (their marks
already passed run at once) and drops those that ended meanwhile.
"""

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ivr.clock import Clock, LoopClock, Timer
from ivr.events.model import CallCompleted, Event, TalkLimitReached
from ivr.monitors.claims import SoleEngine, StepClaims, always, talk_mark
from ivr.queues.model import QueuesConfig
from ivr.routing.escalation import TalkMark, talk_marks
from ivr.tasks import TaskSet
from ivr.telephony.ami_events import AgentComplete, AgentConnect, AmiEvent, Hangup

log = logging.getLogger(__name__)

BEEP = "beep"  # Asterisk's core sound
COMPLETE_GRACE = 5.0  # s to wait for AgentComplete after the caller's Hangup
ENDED_BY_LIMIT = "hard_limit"  # CallCompleted.ended_by of a call the engine ended
CLAIM_RETRY = 1.0  # s: a mark whose claim the database did not answer is tried again


class TalkActions(Protocol):
    async def whisper(self, channel: str, sound: str) -> None: ...
    async def hangup(self, channel: str) -> None: ...
    async def bridge_peer(self, channel: str) -> str: ...


@dataclass
class Talk:
    call_id: str
    queue: str
    agent: str
    agent_channel: str
    caller_channel: str
    started: float  # loop time of AgentConnect
    marks: tuple[TalkMark, ...]
    timers: list[Timer] = field(default_factory=list)
    ended: float | None = None  # loop time of the caller's Hangup
    limited: bool = False  # the engine hangs it up at the hard limit

    def snapshot(self) -> "TalkingCall":
        return TalkingCall(self.call_id, self.queue, self.agent, self.started)


@dataclass(frozen=True)
class TalkingCall:
    """A live talk as the live board sees it (a frozen copy of the monitor's Talk)."""

    call_id: str
    queue: str
    agent: str
    started: float  # loop time of AgentConnect


@dataclass(frozen=True)
class Talking:
    """A call Asterisk has bridged to an agent (see ivr.monitors.resync)."""

    call_id: str
    queue: str
    agent: str
    agent_channel: str
    caller_channel: str
    talking: float  # s since the answer
    waited: float | None = None  # s in Queue() before the answer (app_queue's QUEUEWAIT)


@dataclass(frozen=True)
class TalksResynced:
    adopted: tuple[str, ...]
    dropped: tuple[str, ...]


class TalkMonitor:
    AMI_EVENTS: tuple[type[AmiEvent], ...] = (AgentConnect, AgentComplete, Hangup)

    def __init__(
        self,
        queues: Callable[[], QueuesConfig],
        actions: TalkActions,
        publish: Callable[[Event], None],
        tasks: TaskSet,
        clock: Clock | None = None,
        claims: StepClaims | None = None,
        acting: Callable[[], bool] = always,
    ) -> None:
        self._queues = queues
        self._actions = actions
        self._publish = publish
        self._tasks = tasks
        self._clock = clock or LoopClock()
        self._claims = claims or SoleEngine()
        self._acting = acting  # False: another engine owns the live actions (standby)
        self._talks: dict[str, Talk] = {}
        self._since_snapshot: deque[str] | None = None  # see resync

    def talking(self) -> list[Talk]:
        return [talk for talk in self._talks.values() if talk.ended is None]

    def calls(self) -> list[TalkingCall]:
        """A snapshot of the live talks (for the live board)."""
        return [talk.snapshot() for talk in self.talking()]

    def close(self) -> None:
        """The engine stops: no more marks."""
        for talk in self._talks.values():
            for timer in talk.timers:
                timer.cancel()

    def on_ami(self, event: AmiEvent) -> None:
        if not isinstance(event, AgentConnect | AgentComplete | Hangup):
            return
        if self._since_snapshot is not None:
            self._since_snapshot.append(event.call_id)
        match event:
            case AgentConnect():
                self._connected(event)
            case AgentComplete():
                self._completed(event.call_id, event.reason)
            case Hangup():
                self._hung_up(event.call_id)

    def _completed(self, call_id: str, ended_by: str) -> None:
        talk = self._forget(call_id)
        if talk is not None:
            ended = talk.ended if talk.ended is not None else self._now()
            ended_by = ENDED_BY_LIMIT if talk.limited else ended_by
            talked = ended - talk.started
            self._publish(
                CallCompleted(
                    call_id, talk.queue, talk.agent, talked, ended_by, at=self._clock.wall()
                )
            )

    def _hung_up(self, call_id: str) -> None:
        """The caller's Hangup may come before app_queue's AgentComplete: the talk ends now,
        and is recorded when AgentComplete arrives (or, without one, a moment later)."""
        talk = self._talks.get(call_id)
        if talk is None or talk.ended is not None:
            return
        for timer in talk.timers:
            timer.cancel()
        talk.ended = self._now()
        talk.timers = [
            self._clock.call_at(self._now() + COMPLETE_GRACE, self._completed, call_id, "")
        ]

    def _now(self) -> float:
        return self._clock.now()

    def _connected(self, event: AgentConnect) -> None:
        spec = self._queues().queues.get(event.queue)
        if spec is None:
            return
        self._forget(event.call_id)
        self._start(
            Talk(
                event.call_id,
                event.queue,
                event.member_name,
                event.dest_channel,
                event.channel,
                self._now(),
                talk_marks(spec),
            )
        )

    def _start(self, talk: Talk) -> None:
        talk.timers = [
            self._clock.call_at(talk.started + mark.after, self._reached, talk.call_id, mark)
            for mark in talk.marks
        ]
        self._talks[talk.call_id] = talk

    # --- resync with Asterisk (after an AMI (re)connect, at start) ----------------------

    def snapshot_asked(self) -> None:
        """Calls with an event from now on are newer than the snapshot: resync skips them."""
        self._since_snapshot = deque(maxlen=1000)

    def resync_abandoned(self) -> None:
        self._since_snapshot = None

    def resync(self, talking: Sequence[Talking], alive: Collection[str]) -> TalksResynced:
        """Adopt the talks the engine missed (timed from their real answer: marks already
        passed run at once); drop the talks whose caller is gone (the end was not heard:
        nothing is recorded for it)."""
        changed = set(self._since_snapshot or ())
        self._since_snapshot = None
        dropped = [
            call_id
            for call_id, talk in list(self._talks.items())
            if call_id not in alive and call_id not in changed and talk.ended is None
        ]
        for call_id in dropped:
            self._forget(call_id)
        adopted: list[str] = []
        for found in talking:
            spec = self._queues().queues.get(found.queue)
            if spec is None or found.call_id in self._talks or found.call_id in changed:
                continue
            started = self._now() - found.talking
            self._start(
                Talk(
                    found.call_id,
                    found.queue,
                    found.agent,
                    found.agent_channel,
                    found.caller_channel,
                    started,
                    talk_marks(spec),
                )
            )
            adopted.append(found.call_id)
        return TalksResynced(tuple(adopted), tuple(dropped))

    def _forget(self, call_id: str) -> Talk | None:
        talk = self._talks.pop(call_id, None)
        if talk is not None:
            for timer in talk.timers:
                timer.cancel()
        return talk

    def reset(self) -> None:
        """Another engine owns the live actions now: forget every talk (the next takeover
        adopts them afresh from Asterisk, marks passed meanwhile run then)."""
        self.close()
        self._talks.clear()

    def _reached(self, call_id: str, mark: TalkMark) -> None:
        talk = self._talks.get(call_id)
        if talk is None or not self._acting():
            return
        self._tasks.spawn(self._claimed_mark(talk, mark), name=f"talk-{mark.level}-{call_id}")

    async def _claimed_mark(self, talk: Talk, mark: TalkMark) -> None:
        """Claim the mark for this engine (an engine before a takeover may have reached
        it already), then say so and act."""
        try:
            if not await self._claims.claim(talk.call_id, talk_mark(mark.level)):
                log.info("talk %s on %s was reached already", mark.level, talk.call_id)
                return
        except Exception as exc:  # no database: tried again (the lease may run out first)
            log.warning("talk %s on %s not claimed: %s", mark.level, talk.call_id, exc)
            again = self._now() + CLAIM_RETRY
            talk.timers.append(self._clock.call_at(again, self._reached, talk.call_id, mark))
            return
        if self._talks.get(talk.call_id) is talk and talk.ended is None:
            self._reach(talk, mark)

    def _reach(self, talk: Talk, mark: TalkMark) -> None:
        elapsed = self._now() - talk.started
        self._publish(
            TalkLimitReached(
                talk.call_id,
                talk.queue,
                talk.agent,
                talk.agent_channel,
                mark.level,
                elapsed,
                at=self._clock.wall(),
            )
        )
        if mark.level == "hard_limit":
            talk.limited = True
            self._tasks.spawn(self._limit(talk, mark))
        else:
            self._tasks.spawn(self._act(self._beep(talk), talk, mark))

    async def _limit(self, talk: Talk, mark: TalkMark) -> None:
        """Hang the caller up; once done the call is recorded (a later AgentComplete finds
        it gone). If the hangup fails the call goes on and ends the usual way."""
        if not await self._act(self._actions.hangup(talk.caller_channel), talk, mark):
            talk.limited = False  # the call had ended already, or goes on
        elif self._talks.get(talk.call_id) is talk:
            self._completed(talk.call_id, ENDED_BY_LIMIT)

    async def _beep(self, talk: Talk) -> None:
        """AgentConnect names a Local interface's own leg, which is gone once Asterisk
        optimised the Local channel out: the beep goes to the caller's bridge peer, the
        agent's real channel (the Local leg itself if it is still there)."""
        channel = talk.agent_channel
        if channel.startswith("Local/"):
            channel = await self._actions.bridge_peer(talk.caller_channel) or channel
        await self._actions.whisper(channel, BEEP)

    async def _act(self, action: Awaitable[None], talk: Talk, mark: TalkMark) -> bool:
        try:
            await action
        except Exception as exc:  # the call may have ended in between
            log.warning("talk %s on %s: %s failed: %s", mark.level, talk.call_id, talk.agent, exc)
            return False
        return True

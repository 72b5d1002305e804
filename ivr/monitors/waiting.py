"""The 20-second answer target, enforced live.

Every caller who joins a queue (QueueCallerJoin) is timed from that first join. When the
wait passes the queue's answer target the engine says so (AnswerTargetMissed), and each
step of the queue's escalation ladder runs once at its time: raise the caller's priority
(QueueChangePriorityCaller Immediate), move the caller to an overflow queue, or offer a
callback that keeps the caller's place. A caller moved to another queue keeps the clock
and the ladder of the queue first joined. The answer (AgentConnect) or the abandon ends
the timing; both are published with the wait the engine measured.

A step that fails (an AMI error, a timeout, AMI down) is not done: it is published as failed
and tried again with backoff (`Retry`), until it succeeds (published late) or the attempts
run out. After an AMI (re)connect or an engine start, `resync` sets the waiters to what
app_queue holds: callers gone meanwhile are dropped, callers who joined meanwhile are
adopted with their real wait, and every step due meanwhile runs at once, published late.
"""

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from ivr.clock import Clock, LoopClock, Timer
from ivr.events.model import (
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEscalated,
    Event,
    WaitPredicted,
)
from ivr.flow.calendar import ALWAYS, Calendar
from ivr.flow.callback_window import CallbackWindow, promise_window, said_time
from ivr.monitors.announce import WaitAnnouncer, one_after_another
from ivr.monitors.claims import SoleEngine, StepClaims, always, ladder_step
from ivr.monitors.predict import WaitPredictor
from ivr.monitors.talk import Talking
from ivr.queues.model import EscalationStep, QueuesConfig, QueueSpec
from ivr.routing.escalation import (
    TARGET,
    Mark,
    Waiting,
    raised_priority,
    waiting_marks,
)
from ivr.routing.phone import callable_number
from ivr.routing.predict import Prediction
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.ami_events import (
    AgentConnect,
    AmiEvent,
    Hangup,
    IvrCallbackAccepted,
    IvrCallbackAnswered,
    IvrRoute,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
)

log = logging.getLogger(__name__)

PromptSound = Callable[[str, str, Mapping[str, str]], Awaitable[str | None]]
LATE_AFTER = 0.5  # s: a step run later than this after its time is published as late
RECENT_HANGUPS = 1000  # hangups remembered during a resync (a snapshot may predate them)
GONE = "gone while the engine did not hear"  # CallEnded's cause for a dropped ghost
CHANGES_A_CALLER = (QueueCallerJoin, QueueCallerLeave, QueueCallerAbandon, AgentConnect, Hangup)
EARLY_OFFER = -2  # the claim index of the callback offered at the join (the ladder's are >= 0)


@dataclass(frozen=True)
class Retry:
    """A failed step is tried again after `first` s, then `factor` times longer each time
    (at most `cap` s), `attempts` tries in all."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    attempts: int = 6

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.first * self.factor ** max(0, failures - 1)))


@dataclass(frozen=True)
class Queued:
    """A caller app_queue holds (QueueStatus's QueueEntry plus the channel's variables)."""

    call_id: str
    channel: str
    queue: str
    wait: float  # s in this queue, as app_queue counts it
    priority: int
    caller: str = ""
    line: str = ""
    caller_class: str = ""
    language: str = ""
    ladder: str = ""  # the queue whose ladder he follows (the first he joined)
    done: tuple[int, ...] = ()  # its steps done (kept on the channel by the engine)


@dataclass(frozen=True)
class Resynced:
    adopted: tuple[str, ...]
    dropped: tuple[str, ...]
    kept: int


class WaitingActions(Protocol):
    async def change_priority(self, queue: str, channel: str, priority: int) -> None: ...
    async def move_to_queue(self, channel: str, queue: str, priority: int) -> None: ...
    async def set_variables(self, channel: str, values: Mapping[str, str]) -> None: ...
    async def whisper(self, channel: str, sound: str) -> None: ...
    async def remember_ladder(
        self, channel: str, ladder: str, done: Sequence[int], priority: int
    ) -> None: ...


@dataclass
class Waiter:
    call_id: str
    channel: str
    queue: str
    first_queue: str
    line: str
    caller: str
    caller_class: str
    priority: int
    language: str
    joined: float  # loop time of the first join
    joined_at: datetime
    target: float
    marks: tuple[Mark, ...]
    done: set[int] = field(default_factory=set)
    running: set[int] = field(default_factory=set)  # steps being tried now
    failures: dict[int, int] = field(default_factory=dict)  # failed tries per step
    retry_at: dict[int, float] = field(default_factory=dict)  # a failed step's next try
    given_up: set[int] = field(default_factory=set)  # failed `Retry.attempts` times
    in_queue: bool = True
    moving: bool = False  # redirected to an overflow queue: app_queue reports an abandon
    timer: Timer | None = None

    def due_at(self, mark: Mark) -> float:
        return max(self.joined + mark.after, self.retry_at.get(mark.index, 0.0))

    def pending(self) -> list[Mark]:
        """Marks not done, not being tried and not given up, by the time they are due."""
        skip = self.done | self.running | self.given_up
        return sorted((m for m in self.marks if m.index not in skip), key=self.due_at)

    @property
    def escalations(self) -> int:
        """Ladder steps run so far (the answer target itself is not a step)."""
        return len(self.done - {TARGET})

    def snapshot(self) -> "WaitingCaller":
        return WaitingCaller(
            self.call_id,
            self.queue,
            self.line,
            self.caller_class,
            self.priority,
            self.joined,
            self.joined_at,
            self.marks,
            frozenset(self.done),
            self.in_queue,
        )


@dataclass(frozen=True)
class WaitingCaller:
    """A waiter as readers outside the monitor see him (the live board): a copy that does
    not change under them."""

    call_id: str
    queue: str
    line: str
    caller_class: str
    priority: int
    joined: float  # loop time of the first join
    joined_at: datetime
    marks: tuple[Mark, ...]
    done: frozenset[int]  # the marks run
    in_queue: bool


@dataclass(frozen=True)
class _Route:
    line: str
    caller: str
    caller_class: str
    priority: int
    language: str
    called_back: bool = False  # the callback's own call: never offered another at the join


class WaitingMonitor:
    """Feed it the AMI events: the dialplan's IvrRoute (the menu's route), the queue's."""

    AMI_EVENTS: tuple[type[AmiEvent], ...] = (
        QueueCallerJoin,
        QueueCallerLeave,
        QueueCallerAbandon,
        AgentConnect,
        Hangup,
        IvrRoute,
        IvrCallbackAccepted,
        IvrCallbackAnswered,
    )

    def __init__(
        self,
        queues: Callable[[], QueuesConfig],
        actions: WaitingActions,
        prompt_sound: PromptSound,
        publish: Callable[[Event], None],
        tasks: TaskSet,
        clock: Clock | None = None,
        retry: Retry = Retry(),
        claims: StepClaims | None = None,
        acting: Callable[[], bool] = always,
        predictor: WaitPredictor | None = None,  # None: no prediction, no announcement
        calendar: Callable[[], Calendar] = lambda: ALWAYS,  # flows/calendar.yaml
    ) -> None:
        self._queues = queues
        self._calendar = calendar
        self._actions = actions
        self._prompt_sound = prompt_sound
        self._publish = publish
        self._tasks = tasks
        self._clock = clock or LoopClock()
        self._retry = retry
        self._claims = claims or SoleEngine()
        self._acting = acting  # False: another engine owns the live actions (standby)
        self._routes: dict[str, _Route] = {}
        self._waiters: dict[str, Waiter] = {}
        # call ids with a queue event or a hangup since the resync's snapshot was asked for
        self._since_snapshot: deque[str] | None = None
        self._predictor = predictor
        self._announcer = (
            WaitAnnouncer(
                queues,
                predictor,
                prompt_sound,
                actions.whisper,
                tasks,
                self._clock,
                self._waiters.get,
                self._waiters.values,
                acting,
            )
            if predictor is not None
            else None
        )

    # --- what the dashboard and the callback dialer read ------------------------------

    def waiting(self) -> list[Waiting]:
        return [
            Waiting(w.queue, w.caller_class, w.joined_at)
            for w in self._waiters.values()
            if w.in_queue
        ]

    def waiters(self) -> list[Waiter]:
        return list(self._waiters.values())

    def callers(self) -> list[WaitingCaller]:
        """A snapshot of every waiter (for the live board)."""
        return [waiter.snapshot() for waiter in self._waiters.values()]

    def waiter(self, call_id: str) -> Waiter | None:
        return self._waiters.get(call_id)

    def __len__(self) -> int:
        return len(self._waiters)

    def close(self) -> None:
        """The engine stops: no step runs or is retried any more."""
        for waiter in self._waiters.values():
            self._cancel(waiter)
            waiter.in_queue = False
        if self._announcer is not None:
            self._announcer.close()

    def reset(self) -> None:
        """Another engine owns the live actions now: forget every caller (the next
        takeover adopts them afresh from Asterisk)."""
        self.close()
        self._waiters.clear()
        self._routes.clear()

    # --- inputs -----------------------------------------------------------------------

    def on_ami(self, event: AmiEvent) -> None:
        if self._since_snapshot is not None and isinstance(event, CHANGES_A_CALLER):
            self._since_snapshot.append(event.call_id)
        match event:
            case QueueCallerJoin():
                self._joined(event)
            case QueueCallerLeave():
                self._left(event.call_id)
            case QueueCallerAbandon():
                self._abandoned(event.call_id, event.queue)
            case AgentConnect():
                self._answered(event)
            case Hangup():
                self._forget(event.call_id)
                self._routes.pop(event.call_id, None)
            case IvrRoute():  # the menu's route, whichever engine ran it (before the join)
                self._routes[event.call_id] = _Route(
                    event.line,
                    event.caller_number,
                    event.caller_class,
                    event.priority,
                    event.language,
                )
            case IvrCallbackAccepted():
                self._callback_accepted(event)
            case IvrCallbackAnswered():
                self._routes[event.call_id] = _Route(
                    event.line,
                    event.caller_number,
                    event.caller_class,
                    event.priority,
                    event.language,
                    called_back=True,
                )

    def _now(self) -> float:
        return self._clock.now()

    def _joined(self, event: QueueCallerJoin) -> None:
        call_id, queue = event.call_id, event.queue
        waiter = self._waiters.get(call_id)
        if waiter is not None:  # moved here from another queue: same clock, same ladder
            waiter.queue, waiter.channel = queue, event.channel or waiter.channel
            waiter.in_queue, waiter.moving = True, False
            self._schedule(waiter)
            return
        config = self._queues()
        spec = config.queues.get(queue)
        if spec is None:
            log.warning(
                "caller %s joined queue %s, which queues.yaml does not know", call_id, queue
            )
            return
        route = self._routes.get(call_id) or _Route("", "", "unknown", 0, "")
        waiter = Waiter(
            call_id=call_id,
            channel=event.channel,
            queue=queue,
            first_queue=queue,
            line=route.line,
            caller=route.caller or event.caller_number,
            caller_class=route.caller_class,
            priority=route.priority,
            language=route.language,
            joined=self._now(),
            joined_at=self._clock.wall(),
            target=spec.answer_target,
            marks=waiting_marks(spec),
        )
        self._waiters[call_id] = waiter
        self._schedule(waiter)
        if self._predictor is not None and self._acting():
            self._predicted(waiter, spec, self._predictor.predict(spec, event.position))

    def _left(self, call_id: str) -> None:
        """Out of Queue(): answered, moved, took the callback offer or hung up. The timers
        stop; a move re-joins and picks the ladder up where it was."""
        waiter = self._waiters.get(call_id)
        if waiter is not None:
            waiter.in_queue = False
            self._cancel(waiter)

    def _abandoned(self, call_id: str, queue: str) -> None:
        moving = self._waiters.get(call_id)
        if moving is not None and moving.moving:  # left for the overflow queue, not gone
            self._left(call_id)
            return
        waiter = self._forget(call_id)
        if waiter is not None:
            self._publish(
                CallAbandoned(call_id, queue, self._waited(waiter), at=self._clock.wall())
            )

    def _answered(self, event: AgentConnect) -> None:
        waiter = self._forget(event.call_id)
        if waiter is None:
            return
        wait = self._waited(waiter)
        self._publish(
            CallAnswered(
                event.call_id,
                event.queue or waiter.queue,
                event.member_name,
                event.dest_channel,
                wait,
                target_met=TARGET not in waiter.done and wait <= waiter.target,
                at=self._clock.wall(),
            )
        )

    def _callback_accepted(self, event: IvrCallbackAccepted) -> None:
        call_id = event.call_id
        waiter = self._forget(call_id)
        if waiter is None:
            log.warning("callback accepted by %s, who is not waiting", call_id)
            return
        if not callable_number(waiter.caller):  # never offered: a key pressed by chance
            log.warning("callback accepted by %s, whose number cannot be called", call_id)
            return
        known = waiter.caller_class != "unknown"  # else the dialplan's view (a fallback call)
        now = self._clock.wall()
        window = self._window(now)
        self._publish(
            CallbackRequested(
                call_id,
                waiter.line or event.line,
                waiter.caller,  # the caller's own number, never one given in the event
                "",
                waiter.first_queue,
                waiter.caller_class if known else event.caller_class or "unknown",
                promised_by=window.promised_by,
                at=now,
                waiting_since=waiter.joined_at,
                language=waiter.language,
                dial_from=window.opens_at,  # taken after hours: not dialled before the opening
            )
        )

    def _window(self, now: datetime) -> CallbackWindow:
        """When a callback taken at `now` is dialled and promised (callbacks.hours)."""
        policy = self._queues().callbacks
        return promise_window(
            self._calendar(), policy.hours, now, timedelta(seconds=policy.promise)
        )

    def _forget(self, call_id: str) -> Waiter | None:
        waiter = self._waiters.pop(call_id, None)
        if waiter is not None:
            self._cancel(waiter)
        if self._announcer is not None:
            self._announcer.stop(call_id)
        return waiter

    # --- resync with app_queue (after an AMI (re)connect, at start) ---------------------

    def snapshot_asked(self) -> None:
        """A resync is about to ask app_queue for its callers: who joins, leaves or hangs up
        from now on is newer than that snapshot, and the resync leaves them as they are."""
        self._since_snapshot = deque(maxlen=RECENT_HANGUPS)

    def resync_abandoned(self) -> None:
        self._since_snapshot = None

    def resync(self, queued: Sequence[Queued], alive: Collection[str]) -> Resynced:
        """Set the waiters to `queued` (app_queue's callers); `alive`: the call ids of every
        channel Asterisk has. A waiter whose channel is gone is dropped (he hung up while
        the engine did not hear); one alive but in no queue is between queues; a caller the
        engine does not hold is adopted with app_queue's wait. Every step due meanwhile, and
        every failed step, runs at once."""
        changed = set(self._since_snapshot or ())
        self._since_snapshot = None
        entries = {q.call_id: q for q in queued if q.call_id not in changed}
        dropped: list[str] = []
        for waiter in list(self._waiters.values()):
            if waiter.call_id in changed:
                continue
            entry = entries.get(waiter.call_id)
            if entry is not None:
                waiter.queue, waiter.channel = entry.queue, entry.channel
                waiter.in_queue, waiter.moving = True, False
            elif waiter.call_id not in alive:
                self._forget(waiter.call_id)
                self._routes.pop(waiter.call_id, None)
                self._publish(CallEnded(waiter.call_id, GONE, at=self._clock.wall()))
                dropped.append(waiter.call_id)
            else:
                waiter.in_queue = False
                self._cancel(waiter)
        adopted = [
            entry.call_id
            for entry in entries.values()
            if entry.call_id not in self._waiters and entry.call_id in alive and self._adopt(entry)
        ]
        for waiter in self._waiters.values():
            waiter.retry_at.clear()  # AMI is back: a failed step is tried again now
            if waiter.in_queue:
                self._schedule(waiter)
        return Resynced(tuple(adopted), tuple(dropped), len(self._waiters) - len(adopted))

    def answered_meanwhile(self, talk: Talking) -> None:
        """A caller was answered while the engine did not hear (found talking at a resync):
        published as answered, with the wait the engine measured if it held him, else
        app_queue's."""
        waiter = self._forget(talk.call_id)
        spec = self._queues().queues.get(talk.queue)
        if waiter is not None:
            wait = max(0.0, self._waited(waiter) - talk.talking)
            met = TARGET not in waiter.done and wait <= waiter.target
        elif talk.waited is not None and spec is not None:
            wait, met = talk.waited, talk.waited <= spec.answer_target
        else:
            return
        at = self._clock.wall() - timedelta(seconds=talk.talking)
        self._publish(
            CallAnswered(talk.call_id, talk.queue, talk.agent, talk.agent_channel, wait, met, at)
        )

    def _adopt(self, entry: Queued) -> bool:
        ladder = entry.ladder if entry.ladder in self._queues().queues else entry.queue
        spec = self._queues().queues.get(ladder)
        if spec is None:
            log.warning(
                "caller %s waits in queue %s, unknown to queues.yaml", entry.call_id, entry.queue
            )
            return False
        route = self._routes.get(entry.call_id) or _Route(
            entry.line,
            entry.caller,
            entry.caller_class or "unknown",
            entry.priority,
            entry.language,
        )
        self._waiters[entry.call_id] = Waiter(
            call_id=entry.call_id,
            channel=entry.channel,
            queue=entry.queue,
            first_queue=ladder,
            line=route.line,
            caller=route.caller or entry.caller,
            caller_class=route.caller_class,
            priority=entry.priority,  # app_queue's: any raise so far included
            language=route.language,
            joined=self._now() - entry.wait,
            joined_at=self._clock.wall() - timedelta(seconds=entry.wait),
            target=spec.answer_target,
            marks=waiting_marks(spec),
            # steps an earlier engine ran; the target was missed before any step
            done=set(entry.done) | ({TARGET} if entry.done else set()),
        )
        here = self._queues().queues.get(entry.queue)
        if self._announcer is not None and here is not None:  # told again from now on
            self._announcer.repeat(entry.call_id, here)
        return True

    # --- timing -----------------------------------------------------------------------

    def _waited(self, waiter: Waiter) -> float:
        return self._now() - waiter.joined

    def _cancel(self, waiter: Waiter) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None

    def _schedule(self, waiter: Waiter) -> None:
        self._cancel(waiter)
        pending = waiter.pending()
        if pending:
            when = waiter.due_at(pending[0])
            waiter.timer = self._clock.call_at(when, self._fire, waiter.call_id)

    def _fire(self, call_id: str) -> None:
        waiter = self._waiters.get(call_id)
        if waiter is None or not waiter.in_queue:
            return
        waiter.timer = None
        if not self._acting():  # standing by: the owner acts; a takeover resyncs
            return
        now = self._now()
        due = [m for m in waiter.pending() if waiter.due_at(m) <= now]
        steps: list[Mark] = []
        for mark in due:
            if mark.step is None:  # the target itself: nothing to act on
                waiter.done.add(mark.index)
                waited = self._waited(waiter)
                self._publish(
                    AnswerTargetMissed(
                        waiter.call_id, waiter.queue, waiter.line, waited, at=self._clock.wall()
                    )
                )
            else:
                waiter.running.add(mark.index)  # taken: the same step is never tried twice
                steps.append(mark)
        if steps:  # one task runs them in ladder order (several are due after an outage)
            self._tasks.spawn(self._escalate(waiter, steps), name=f"escalate-{call_id}")
        self._schedule(waiter)

    # --- at the join: the predicted wait, the announcement, the early callback offer ----

    def _predicted(self, waiter: Waiter, spec: QueueSpec, prediction: Prediction) -> None:
        self._publish(
            WaitPredicted(
                waiter.call_id,
                spec.name,
                prediction.position,
                prediction.staffing.ready,
                prediction.staffing.busy,
                prediction.handle_time,
                prediction.seconds,
                spec.answer_target,
                at=self._clock.wall(),
            )
        )
        route = self._routes.get(waiter.call_id)
        called_back = route is not None and route.called_back
        early = spec.early_callback and not called_back and prediction.exceeds(spec.answer_target)
        self._tasks.spawn(
            self._greet(waiter, spec, prediction, early), name=f"greet-{waiter.call_id}"
        )
        assert self._announcer is not None
        self._announcer.repeat(waiter.call_id, spec)

    async def _greet(
        self, waiter: Waiter, spec: QueueSpec, prediction: Prediction, early: bool
    ) -> None:
        """Tell the caller his place and wait, and offer the callback at once when he will
        wait past the target (`early`): one whisper, the offer after the announcement."""
        assert self._announcer is not None
        try:
            told = await self._announcer.sound(spec, prediction, waiter.language)
            if self._waiters.get(waiter.call_id) is not waiter or not waiter.in_queue:
                return  # answered or gone meanwhile: nothing to tell him
            if early and await self._early_claimed(waiter):
                await self._early_offer(waiter, prediction, told)
            elif told is not None:
                await self._actions.whisper(waiter.channel, told)
        except Exception as exc:  # AMI down, the channel gone: the ladder goes on
            log.warning("%s not told his place and wait at the join: %s", waiter.call_id, exc)

    async def _early_claimed(self, waiter: Waiter) -> bool:
        try:
            return await self._claims.claim(waiter.call_id, ladder_step(waiter.queue, EARLY_OFFER))
        except Exception as exc:  # not offered early: the ladder's offer (if any) stays
            log.warning("early callback offer to %s not claimed: %s", waiter.call_id, exc)
            return False

    async def _early_offer(self, waiter: Waiter, prediction: Prediction, told: str | None) -> None:
        """The callback offer at the join; the ladder's own offer steps count as done."""
        waited = self._waited(waiter)
        predicted = (
            "nobody on duty" if prediction.seconds is None else f"{prediction.seconds:.0f} s"
        )
        why = f"at the join: predicted {predicted} > target {waiter.target:g} s"
        try:
            detail = await self._offer_callback(waiter, before=told)
        except Exception as exc:
            await self._claims.release(waiter.call_id, ladder_step(waiter.queue, EARLY_OFFER))
            self._publish(
                CallEscalated(
                    waiter.call_id, waiter.queue, "offer_callback", f"failed: {exc}", waited,
                    failed=True, at=self._clock.wall(),
                )
            )  # fmt: skip
            return
        offers = [m.index for m in waiter.marks if m.step and m.step.action == "offer_callback"]
        waiter.done.update(offers)
        self._publish(
            CallEscalated(
                waiter.call_id, waiter.queue, "offer_callback", f"{detail} ({why})", waited,
                at=self._clock.wall(),
            )
        )  # fmt: skip
        if offers:  # a later engine skips them too
            steps = sorted(waiter.done - {TARGET})
            await self._actions.remember_ladder(
                waiter.channel, waiter.first_queue, steps, waiter.priority
            )

    # --- the ladder's actions ---------------------------------------------------------

    async def _escalate(self, waiter: Waiter, marks: Sequence[Mark]) -> None:
        try:
            for mark in marks:
                if self._waiters.get(waiter.call_id) is not waiter or not waiter.in_queue:
                    return  # gone or between queues: the rest runs when (if) he is back
                if not self._acting():
                    return  # the lease ran out: the next owner runs the rest
                if await self._claimed(waiter, mark):
                    await self._try_step(waiter, mark)
        finally:
            waiter.running.difference_update(m.index for m in marks)
            if self._waiters.get(waiter.call_id) is waiter and waiter.in_queue:
                self._schedule(waiter)

    async def _claimed(self, waiter: Waiter, mark: Mark) -> bool:
        """Claim the step for this engine; a step claimed already (by an engine before a
        takeover) counts as done. A claim that cannot be made is retried like a failure."""
        step = ladder_step(waiter.first_queue, mark.index)
        try:
            if await self._claims.claim(waiter.call_id, step):
                return True
        except Exception as exc:
            self._failed(waiter, mark, f"not claimed: {exc}")
            return False
        log.info("escalation %d for %s was taken already", mark.index, waiter.call_id)
        waiter.done.add(mark.index)
        return False

    async def _try_step(self, waiter: Waiter, mark: Mark) -> None:
        step = mark.step
        assert step is not None
        queue, waited = waiter.queue, self._waited(waiter)
        late = waited - mark.after
        attempt = waiter.failures.get(mark.index, 0) + 1
        try:
            detail = await self._run_step(waiter, step)
        except Exception as exc:  # an AMI error or timeout, AMI down, a vanished channel
            await self._unclaim(waiter, mark)
            self._failed(waiter, mark, str(exc))
            return
        waiter.done.add(mark.index)
        waiter.retry_at.pop(mark.index, None)
        self._publish(
            CallEscalated(
                waiter.call_id,
                queue,
                step.action,
                detail,
                waited,
                late=late if late >= LATE_AFTER else 0.0,
                attempt=attempt,
                at=self._clock.wall(),
            )
        )
        try:  # on the channel: a key press re-queues with the raise, a later engine skips
            steps = sorted(waiter.done - {TARGET})  # the steps done (one AMI round trip)
            await self._actions.remember_ladder(
                waiter.channel, waiter.first_queue, steps, waiter.priority
            )
        except Exception as exc:
            log.warning("could not keep %s's ladder on its channel: %s", waiter.call_id, exc)

    def _failed(self, waiter: Waiter, mark: Mark, reason: str) -> None:
        """Count a failed attempt: retried with backoff, or given up after the last."""
        step = mark.step
        assert step is not None
        waited = self._waited(waiter)
        attempt = waiter.failures.get(mark.index, 0) + 1
        waiter.failures[mark.index] = attempt
        if attempt < self._retry.attempts:
            retry = self._retry.delay(attempt)
            waiter.retry_at[mark.index] = self._now() + retry
            then = f"retried in {retry:g} s"
        else:
            waiter.given_up.add(mark.index)
            then = "given up"
        log.warning(
            "escalation %s for %s failed: %s (attempt %d, %s)",
            step.action,
            waiter.call_id,
            reason,
            attempt,
            then,
        )
        self._publish(
            CallEscalated(
                waiter.call_id,
                waiter.queue,
                step.action,
                f"failed: {reason}",
                waited,
                late=max(0.0, waited - mark.after),
                failed=True,
                attempt=attempt,
                at=self._clock.wall(),
            )
        )

    async def _unclaim(self, waiter: Waiter, mark: Mark) -> None:
        """A step that failed is free again for its retry (here, or on the next owner)."""
        try:
            await self._claims.release(waiter.call_id, ladder_step(waiter.first_queue, mark.index))
        except Exception as exc:
            log.warning("claim of %s's step %d not released: %s", waiter.call_id, mark.index, exc)

    async def _run_step(self, waiter: Waiter, step: EscalationStep) -> str:
        if step.action == "raise_priority":
            old, new = waiter.priority, raised_priority(waiter.priority, step)
            await self._actions.change_priority(waiter.queue, waiter.channel, new)
            waiter.priority = new  # kept on the channel with the steps (remember_ladder)
            return f"priority {old} -> {new}"
        if step.action == "overflow":
            if step.queue == waiter.queue:
                return f"already in {step.queue}"
            origin, waiter.moving = waiter.queue, True  # the re-join may arrive before the reply
            try:
                await self._actions.move_to_queue(waiter.channel, step.queue, waiter.priority)
            except Exception:
                waiter.moving = False
                raise
            return f"{origin} -> {step.queue}"
        if step.action == "offer_callback":
            return await self._offer_callback(waiter)
        raise ValueError(f"unknown escalation action {step.action!r}")

    async def _offer_callback(self, waiter: Waiter, before: str | None = None) -> str:
        """Offer the callback (whispered after `before`, a sound said first, if any)."""
        policy = self._queues().callbacks
        minutes = str(max(1, round(policy.promise / 60)))
        values = {"minutes": minutes, "key": policy.accept_key}
        now, calendar = self._clock.wall(), self._calendar()
        window = self._window(now)  # the same `now`: in hours iff promised from it
        in_hours = window.promised_by == now + timedelta(seconds=policy.promise)
        if not callable_number(waiter.caller):  # withheld or invalid: tell him why instead
            sorry = await self._prompt_sound(policy.no_number_prompt, waiter.language, values)
            told = one_after_another(before, sorry)
            if told is not None:
                await self._actions.whisper(waiter.channel, told)
            return "not offered: the caller's number is withheld or invalid"
        offer = await self._prompt_sound(policy.offer_prompt, waiter.language, values)
        if not in_hours:  # past closing or after hours: say from when and by when
            values["callback_from"] = said_time(calendar, window.dial_from, now)
            values["callback_by"] = said_time(calendar, window.promised_by, now)
        confirm_prompt = policy.confirm_prompt if in_hours else policy.later_prompt
        confirm = await self._prompt_sound(confirm_prompt, waiter.language, values)
        if offer is None:
            return f"no prompt {policy.offer_prompt!r}: not offered"
        await self._actions.set_variables(
            waiter.channel,
            {
                names.VAR_CALLBACK_OFFERED: "1",
                names.VAR_CALLBACK_KEY: policy.accept_key,
                names.VAR_CALLBACK_CONFIRM: confirm or "beep",
            },
        )
        await self._actions.whisper(waiter.channel, one_after_another(before, offer) or offer)
        return f"press {policy.accept_key}"

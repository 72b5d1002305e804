"""The 20-second answer target, enforced live.

Every caller who joins a queue (QueueCallerJoin) is timed from that first join. When the
wait passes the queue's answer target the engine says so (AnswerTargetMissed), and each
step of the queue's escalation ladder runs once at its time: raise the caller's priority
(QueueChangePriorityCaller Immediate), move the caller to an overflow queue, or offer a
callback that keeps the caller's place. A caller moved to another queue keeps the clock
and the ladder of the queue first joined. The answer (AgentConnect) or the abandon ends
the timing; both are published with the wait the engine measured.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ivr.events.model import (
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallEscalated,
    CallRouted,
    Event,
)
from ivr.queues.model import EscalationStep, QueuesConfig
from ivr.routing.escalation import (
    TARGET,
    Mark,
    Waiting,
    due_marks,
    next_mark,
    raised_priority,
    waiting_marks,
)
from ivr.routing.phone import callable_number
from ivr.tasks import TaskSet
from ivr.telephony import names

log = logging.getLogger(__name__)

Message = Mapping[str, str]
PromptSound = Callable[[str, str, Mapping[str, str]], Awaitable[str | None]]


class WaitingActions(Protocol):
    async def change_priority(self, queue: str, channel: str, priority: int) -> None: ...
    async def move_to_queue(self, channel: str, queue: str, priority: int) -> None: ...
    async def set_variables(self, channel: str, values: Mapping[str, str]) -> None: ...
    async def whisper(self, channel: str, sound: str) -> None: ...


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
    in_queue: bool = True
    moving: bool = False  # redirected to an overflow queue: app_queue reports an abandon
    timer: asyncio.TimerHandle | None = None

    @property
    def escalations(self) -> int:
        """Ladder steps run so far (the answer target itself is not a step)."""
        return len(self.done - {TARGET})


@dataclass(frozen=True)
class _Route:
    line: str
    caller: str
    caller_class: str
    priority: int
    language: str


class WaitingMonitor:
    """Feed it the AMI queue events (`on_ami`) and the engine's CallRouted (`on_event`)."""

    AMI_EVENTS = (
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentConnect",
        "Hangup",
        "UserEvent",
    )

    def __init__(
        self,
        queues: Callable[[], QueuesConfig],
        actions: WaitingActions,
        prompt_sound: PromptSound,
        publish: Callable[[Event], None],
        tasks: TaskSet,
    ) -> None:
        self._queues = queues
        self._actions = actions
        self._prompt_sound = prompt_sound
        self._publish = publish
        self._tasks = tasks
        self._routes: dict[str, _Route] = {}
        self._waiters: dict[str, Waiter] = {}

    # --- what the dashboard and the callback dialer read ------------------------------

    def waiting(self) -> list[Waiting]:
        return [
            Waiting(w.queue, w.caller_class, w.joined_at)
            for w in self._waiters.values()
            if w.in_queue
        ]

    def waiters(self) -> list[Waiter]:
        return list(self._waiters.values())

    def waiter(self, call_id: str) -> Waiter | None:
        return self._waiters.get(call_id)

    def __len__(self) -> int:
        return len(self._waiters)

    # --- inputs -----------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallRouted):
            self._routes[event.call_id] = _Route(
                event.line, event.caller, event.caller_class, event.priority, event.language
            )

    def on_ami(self, message: Message) -> None:
        name = message.get("Event", "")
        call_id = message.get("Uniqueid", "")
        if name == "QueueCallerJoin":
            self._joined(call_id, message)
        elif name == "QueueCallerLeave":
            self._left(call_id)
        elif name == "QueueCallerAbandon":
            self._abandoned(call_id, message.get("Queue", ""))
        elif name == "AgentConnect":
            self._answered(call_id, message)
        elif name == "Hangup":
            self._forget(call_id)
            self._routes.pop(call_id, None)
        elif name == "UserEvent":
            user_event = message.get("UserEvent")
            # The call's id and number come from the channel's own headers (Uniqueid,
            # CallerIDNum), never from fields the dialplan filled in.
            if user_event == names.EVENT_CALLBACK_ACCEPTED:
                self._callback_accepted(call_id, message)
            elif user_event == names.EVENT_CALLBACK_ANSWERED:
                self._routes[call_id] = _Route(
                    message.get("Line", ""),
                    message.get("CallerIDNum", ""),
                    message.get("Class", ""),
                    int(message.get("QueuePriority") or 0),
                    "",
                )

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _joined(self, call_id: str, message: Message) -> None:
        queue = message.get("Queue", "")
        waiter = self._waiters.get(call_id)
        if waiter is not None:  # moved here from another queue: same clock, same ladder
            waiter.queue, waiter.channel = queue, message.get("Channel", waiter.channel)
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
            channel=message.get("Channel", ""),
            queue=queue,
            first_queue=queue,
            line=route.line,
            caller=route.caller or message.get("CallerIDNum", ""),
            caller_class=route.caller_class,
            priority=route.priority,
            language=route.language,
            joined=self._now(),
            joined_at=datetime.now(UTC),
            target=spec.answer_target,
            marks=waiting_marks(spec),
        )
        self._waiters[call_id] = waiter
        self._schedule(waiter)

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
            self._publish(CallAbandoned(call_id, queue, self._waited(waiter)))

    def _answered(self, call_id: str, message: Message) -> None:
        waiter = self._forget(call_id)
        if waiter is None:
            return
        wait = self._waited(waiter)
        self._publish(
            CallAnswered(
                call_id,
                message.get("Queue", waiter.queue),
                message.get("MemberName", ""),
                message.get("DestChannel", ""),
                wait,
                target_met=TARGET not in waiter.done and wait <= waiter.target,
            )
        )

    def _callback_accepted(self, call_id: str, message: Message) -> None:
        waiter = self._forget(call_id)
        if waiter is None:
            log.warning("callback accepted by %s, who is not waiting", call_id)
            return
        if not callable_number(waiter.caller):  # never offered: a key pressed by chance
            log.warning("callback accepted by %s, whose number cannot be called", call_id)
            return
        policy = self._queues().callbacks
        known = waiter.caller_class != "unknown"  # else the dialplan's view (a fallback call)
        self._publish(
            CallbackRequested(
                call_id,
                waiter.line or message.get("Line", ""),
                waiter.caller,  # the caller's own number, never one given in the event
                "",
                waiter.first_queue,
                waiter.caller_class if known else message.get("Class") or "unknown",
                promised_by=datetime.now(UTC) + timedelta(seconds=policy.promise),
                waiting_since=waiter.joined_at,
            )
        )

    def _forget(self, call_id: str) -> Waiter | None:
        waiter = self._waiters.pop(call_id, None)
        if waiter is not None:
            self._cancel(waiter)
        return waiter

    # --- timing -----------------------------------------------------------------------

    def _waited(self, waiter: Waiter) -> float:
        return self._now() - waiter.joined

    def _cancel(self, waiter: Waiter) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None

    def _schedule(self, waiter: Waiter) -> None:
        self._cancel(waiter)
        mark = next_mark(waiter.marks, waiter.done)
        if mark is not None:
            loop = asyncio.get_running_loop()
            waiter.timer = loop.call_at(waiter.joined + mark.after, self._fire, waiter.call_id)

    def _fire(self, call_id: str) -> None:
        waiter = self._waiters.get(call_id)
        if waiter is None or not waiter.in_queue:
            return
        waiter.timer = None
        waited = self._waited(waiter)
        for mark in due_marks(waiter.marks, waited, waiter.done):
            waiter.done.add(mark.index)  # before acting: each mark runs once
            if mark.step is None:
                self._publish(AnswerTargetMissed(waiter.call_id, waiter.queue, waiter.line, waited))
            else:
                self._tasks.spawn(
                    self._escalate(waiter, mark.step, waited), name=f"escalate-{call_id}"
                )
        self._schedule(waiter)

    # --- the ladder's actions ---------------------------------------------------------

    async def _escalate(self, waiter: Waiter, step: EscalationStep, waited: float) -> None:
        queue = waiter.queue
        try:
            detail = await self._run_step(waiter, step)
        except Exception as exc:  # an AMI error, a vanished channel: logged and journalled
            log.warning("escalation %s for %s failed: %s", step.action, waiter.call_id, exc)
            detail = f"failed: {exc}"
        self._publish(CallEscalated(waiter.call_id, queue, step.action, detail, waited))

    async def _run_step(self, waiter: Waiter, step: EscalationStep) -> str:
        if step.action == "raise_priority":
            old, new = waiter.priority, raised_priority(waiter.priority, step)
            await self._actions.change_priority(waiter.queue, waiter.channel, new)
            # kept on the channel too: a caller re-queued by a key press keeps the raise
            await self._actions.set_variables(waiter.channel, {names.VAR_PRIORITY: str(new)})
            waiter.priority = new
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

    async def _offer_callback(self, waiter: Waiter) -> str:
        policy = self._queues().callbacks
        minutes = str(max(1, round(policy.promise / 60)))
        values = {"minutes": minutes, "key": policy.accept_key}
        if not callable_number(waiter.caller):  # withheld or invalid: tell him why instead
            sorry = await self._prompt_sound(policy.no_number_prompt, waiter.language, values)
            if sorry is not None:
                await self._actions.whisper(waiter.channel, sorry)
            return "not offered: the caller's number is withheld or invalid"
        offer = await self._prompt_sound(policy.offer_prompt, waiter.language, values)
        confirm = await self._prompt_sound(policy.confirm_prompt, waiter.language, values)
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
        await self._actions.whisper(waiter.channel, offer)
        return f"press {policy.accept_key}"

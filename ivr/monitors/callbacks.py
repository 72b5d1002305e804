"""Callbacks: call back the callers who asked for it, in their turn.

A callback request (taken by a flow, or by a waiting caller who accepted the offer) is
dialled when it reaches the head of its queue: nobody of its class in that queue has waited
longer than it (a callback never jumps ahead of them), and the queue is being served (an
agent is ready or busy on a call). It is not held back until an agent is free: app_queue
gives a freed agent at once to whoever waits, so a caller who joined after the callback
would take its turn. The outbound leg rings at most `max_rings` rings (Originate
Timeout); a caller who answers joins the queue at the head of the class's callers (they
have waited longest), so he is next. No answer, busy or failure is retried `retry_after`
seconds later, `attempts` times in all; every attempt's outcome is stored and published
(CallbackAttempted, UserEvent IvrCallbackOutcome).

With `callbacks.hours` (a schedule of calendar.yaml) nothing is dialled while it is closed:
a request taken after hours waits for the opening (its next_attempt_at), and so does a
retry that falls after closing. The answered caller first hears `greeting_prompt` in the
language his call used (the prompts' default language when it has no such version).
"""

import asyncio
import itertools
import logging
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Protocol

from ivr.clock import Clock, LoopClock, sleep_on
from ivr.events.model import CallbackAttempted, Event
from ivr.flow.calendar import ALWAYS, Calendar
from ivr.monitors.claims import always
from ivr.monitors.waiting import PromptSound
from ivr.queues.model import QueuesConfig
from ivr.routing.escalation import Waiting, callback_may_dial
from ivr.routing.phone import callable_number
from ivr.storage.callbacks import CallbackStore, PendingCallback
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.ami_events import AmiEvent, OriginateResponse

log = logging.getLogger(__name__)

Message = Mapping[str, str]
# OriginateResponse Reason (the outbound channel's last control frame)
# s past an attempt's ring time after which it cannot still be ringing (the dialer waits
# the ring time + 30 s for the OriginateResponse, then records the outcome)
ATTEMPT_GRACE = 60.0
OUTCOMES = {"4": "answered", "3": "no_answer", "1": "no_answer", "5": "busy", "8": "congestion"}
LANGUAGE = re.compile(r"[A-Za-z0-9_-]{1,16}")  # a prompts.yaml language code


class Originator(Protocol):
    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30000,
        action_id: str | None = None,
    ) -> Message: ...


class CallbackDialer:
    AMI_EVENTS: tuple[type[AmiEvent], ...] = (OriginateResponse,)

    def __init__(
        self,
        queues: Callable[[], QueuesConfig],
        store: CallbackStore,
        originator: Originator,
        waiting: Callable[[], list[Waiting]],
        is_served: Callable[[str], bool],
        publish: Callable[[Event], None],
        tasks: TaskSet,
        clock: Clock | None = None,
        acting: Callable[[], bool] = always,
        prompt_sound: PromptSound | None = None,  # None: no greeting
        calendar: Callable[[], Calendar] = lambda: ALWAYS,  # flows/calendar.yaml
        dialled: Callable[[str, str, int], None] = lambda call_id, queue, attempt: None,
    ) -> None:
        self._acting = acting  # False: another engine owns the live actions (it dials)
        self._prompt_sound = prompt_sound
        self._calendar = calendar
        self._dialled = dialled  # told (call id, queue, attempt) as an attempt rings out
        self._queues = queues
        self._store = store
        self._originator = originator
        self._waiting = waiting
        self._is_served = is_served
        self._publish = publish
        self._tasks = tasks
        self._clock = clock or LoopClock()
        self._pending: dict[str, asyncio.Future[str]] = {}  # ActionID -> Reason
        self._dialling: set[str] = set()  # queues with a callback being dialled
        self._ids = itertools.count(1)

    def on_ami(self, event: AmiEvent) -> None:
        if not isinstance(event, OriginateResponse):
            return
        future = self._pending.get(event.action_id)
        if future is not None and not future.done():
            future.set_result(event.reason)

    async def run(self) -> None:
        while True:
            policy = self._queues().callbacks
            try:
                if self._acting():
                    await self._reopen_interrupted(policy.ring_timeout_ms / 1000)
                    await self.dial_due()
            except Exception:
                log.exception("callbacks: could not read the due callbacks")
            await sleep_on(self._clock, policy.poll_interval)

    async def _reopen_interrupted(self, ring: float) -> None:
        """Reopen the attempts an engine left in `dialling` (killed, or cut off from the
        database), once they cannot be ringing any more: a takeover never rings a
        customer twice at once."""
        before = self._clock.wall() - timedelta(seconds=ring + ATTEMPT_GRACE)
        reopened = await asyncio.to_thread(self._store.reopen_interrupted, before)
        if reopened:
            log.warning("callbacks: %d interrupted attempts are open again", reopened)

    def in_hours(self) -> bool:
        """Whether callbacks may be dialled now (callbacks.hours open, or none set)."""
        schedule = self._queues().callbacks.hours
        if not schedule:
            return True
        try:
            return self._calendar().is_open(schedule, self._clock.wall())
        except KeyError:  # calendar.yaml lost it: dialled rather than kept forever
            log.warning("callbacks: no schedule %r in calendar.yaml: dialled at any time", schedule)
            return True

    async def dial_due(self) -> None:
        if not self.in_hours():
            return
        due = await asyncio.to_thread(self._store.due, self._clock.wall())
        waiting = self._waiting()
        for callback in due:
            queue = callback.queue
            if queue in self._dialling or not self._is_served(queue):
                continue
            turn = Waiting(queue, callback.caller_class, callback.waiting_since)
            if not callback_may_dial(turn, waiting):
                continue
            self._dialling.add(queue)
            self._tasks.spawn(self._attempt(callback), name=f"callback-{callback.id}")

    async def _attempt(self, callback: PendingCallback) -> None:
        try:
            attempt = await asyncio.to_thread(
                self._store.start_attempt, callback.id, self._clock.wall()
            )
            if attempt:
                self._dialled(callback.call_id or "", callback.queue, attempt)
                outcome = await self._dial(callback)
                await self._finish(callback, attempt, outcome)
        finally:
            self._dialling.discard(callback.queue)

    async def _dial(self, callback: PendingCallback) -> str:
        config = self._queues()
        policy = config.callbacks
        if not callable_number(callback.phone):
            log.warning("callback %s: %r is not a phone number", callback.id, callback.phone)
            return "failed"
        klass = config.caller_classes.get(callback.caller_class)
        language = callback.language if LANGUAGE.fullmatch(callback.language) else ""
        greeting = await self._greeting(callback, language)
        action_id = f"ivr-callback-{callback.id}-{next(self._ids)}"
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        try:
            await self._originator.originate(
                policy.dial.replace("{phone}", callback.phone),
                context=names.CONTEXT_CALLBACK,
                exten="s",
                caller_id=policy.caller_id or None,
                variables={
                    names.VAR_QUEUE: callback.queue,
                    names.VAR_PRIORITY: str(klass.priority if klass else 0),
                    names.VAR_CALLER_CLASS: callback.caller_class,
                    names.VAR_LINE: callback.line,
                    names.VAR_CALLBACK_ID: str(callback.id),
                    names.VAR_LANGUAGE: language,
                    names.VAR_CALLBACK_GREETING: greeting,
                },
                timeout_ms=policy.ring_timeout_ms,
                action_id=action_id,
            )
            reason = await asyncio.wait_for(future, policy.ring_timeout_ms / 1000 + 30)
        except Exception as exc:
            log.warning("callback %s: originate failed: %s", callback.id, exc)
            return "failed"
        finally:
            self._pending.pop(action_id, None)
        return OUTCOMES.get(reason, "failed")

    async def _greeting(self, callback: PendingCallback, language: str) -> str:
        """The greeting's sound in the caller's language ("" plays none): a prompt that cannot
        be had is logged, and the callback is dialled without it."""
        name = self._queues().callbacks.greeting_prompt
        if not name or self._prompt_sound is None:
            return ""
        try:
            sound = await self._prompt_sound(name, language, {})
        except Exception as exc:
            log.warning("callback %s: no greeting %r (%s): dialled without", callback.id, name, exc)
            return ""
        return sound or ""

    async def _finish(self, callback: PendingCallback, attempt: int, outcome: str) -> None:
        policy = self._queues().callbacks
        now = self._clock.wall()
        final = outcome == "answered" or attempt >= policy.attempts
        retry_at = None if final else now + timedelta(seconds=policy.retry_after)
        await asyncio.to_thread(self._store.finish_attempt, callback.id, outcome, now, retry_at)
        log.info("callback %s attempt %d: %s", callback.id, attempt, outcome)
        self._publish(
            CallbackAttempted(
                callback.id,
                callback.phone,
                attempt,
                outcome,
                final,
                at=now,
                call_id=callback.call_id or "",
                queue=callback.queue,
            )
        )

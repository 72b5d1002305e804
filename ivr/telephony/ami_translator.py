"""Turn Asterisk's AMI events about the engine's calls into domain events."""

from ivr.clock import Clock, LoopClock
from ivr.events.model import CallEnded, CallFellBack, CallQueued, CallStarted, Event
from ivr.events.notifier import Notifier
from ivr.telephony.ami_events import AmiEvent, Hangup, IvrFallback, QueueCallerJoin


class AmiEventTranslator:
    """Follows the calls the engine saw (or the dialplan's fallback announced), so the
    journal is not filled with every channel Asterisk has."""

    AMI_EVENTS: tuple[type[AmiEvent], ...] = (IvrFallback, QueueCallerJoin, Hangup)

    def __init__(self, notifier: Notifier, clock: Clock | None = None) -> None:
        self._notifier = notifier
        self._clock = clock or LoopClock()
        self._calls: set[str] = set()
        notifier.subscribe(self._learn)

    def _learn(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._calls.add(event.call_id)

    def on_ami(self, event: AmiEvent) -> None:
        if isinstance(event, IvrFallback):
            self._calls.add(event.call_id)
            self._notifier.publish(
                CallFellBack(
                    event.call_id,
                    event.line,
                    event.caller_number,
                    event.queue,
                    event.reason,
                    at=self._clock.wall(),
                )
            )
        elif isinstance(event, QueueCallerJoin) and event.call_id in self._calls:
            self._notifier.publish(
                CallQueued(event.call_id, event.queue, event.position, at=self._clock.wall())
            )
        elif isinstance(event, Hangup) and event.call_id in self._calls:
            self._calls.discard(event.call_id)
            self._notifier.publish(CallEnded(event.call_id, event.cause, at=self._clock.wall()))

"""Turn Asterisk's AMI events about the engine's calls into domain events."""

from collections.abc import Callable

from ivr.clock import Clock, LoopClock
from ivr.events.model import CallEnded, CallFellBack, CallQueued, CallStarted, Event
from ivr.events.notifier import Notifier
from ivr.telephony.ami_events import (
    AmiEvent,
    Hangup,
    IvrFallback,
    IvrRoute,
    IvrSelfService,
    QueueCallerJoin,
)

KNOWN_CALLS = 50_000  # calls followed at most (the oldest forgotten: its end never came)


class AmiEventTranslator:
    """Follows the engines' calls, so the journal is not filled with every channel Asterisk
    has: those this engine's menu started (`CallStarted`, while it acts on this Asterisk:
    `learn_started`) and those the dialplan announces, whichever engine ran the menu
    (IvrRoute, IvrSelfService) or none did (IvrFallback)."""

    AMI_EVENTS: tuple[type[AmiEvent], ...] = (
        IvrFallback,
        IvrRoute,
        IvrSelfService,
        QueueCallerJoin,
        Hangup,
    )

    def __init__(
        self,
        notifier: Notifier,
        clock: Clock | None = None,
        learn_started: Callable[[], bool] = lambda: True,
    ) -> None:
        self._notifier = notifier
        self._clock = clock or LoopClock()
        self._learn_started = learn_started
        self._calls: dict[str, None] = {}  # insertion-ordered: the oldest first
        notifier.subscribe(self._learn)

    def _follow(self, call_id: str) -> None:
        self._calls[call_id] = None
        if len(self._calls) > KNOWN_CALLS:
            del self._calls[next(iter(self._calls))]

    def _learn(self, event: Event) -> None:
        if isinstance(event, CallStarted) and self._learn_started():
            self._follow(event.call_id)

    def reset(self) -> None:
        """Another engine follows this Asterisk's calls now."""
        self._calls.clear()

    def on_ami(self, event: AmiEvent) -> None:
        if isinstance(event, IvrRoute | IvrSelfService):
            self._follow(event.call_id)
        elif isinstance(event, IvrFallback):
            self._follow(event.call_id)
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
            self._calls.pop(event.call_id, None)
            self._notifier.publish(CallEnded(event.call_id, event.cause, at=self._clock.wall()))

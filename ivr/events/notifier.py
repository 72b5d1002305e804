"""One notifier: publishers call publish(), listeners never block the caller's path."""

import logging
from collections.abc import Callable

from ivr.events.model import Event

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class Notifier:
    """Synchronous fan-out. Listeners must be quick (enqueue, not I/O); one that
    raises is logged and the others still run."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %r", listener, event)

"""Server-Sent Events fan-out: each client follows `updates()`, a snapshot at once, then one
at least every `push_every` seconds and soon after any change (`changed()`). Time is the
injected clock's (ivr.clock)."""

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Generic, TypeVar

from ivr.clock import Clock

T = TypeVar("T")


class Fanout(Generic[T]):
    def __init__(self, snapshot: Callable[[], T], clock: Clock, push_every: float) -> None:
        self._snapshot = snapshot
        self._clock = clock
        self._push_every = push_every
        self._subscribers: set[asyncio.Event] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def changed(self) -> None:
        """Something changed: every stream sends a snapshot soon."""
        for wake in self._subscribers:
            wake.set()

    async def updates(self) -> AsyncGenerator[T, None]:
        """Snapshots for one client: one now, then at least every `push_every` seconds and
        soon after each change. Close it (contextlib.aclosing) when the client goes."""
        wake = asyncio.Event()
        self._subscribers.add(wake)
        try:
            while True:
                wake.clear()  # before the snapshot: a change while it is sent is not lost
                yield self._snapshot()
                timer = self._clock.call_at(self._clock.now() + self._push_every, wake.set)
                try:
                    await wake.wait()
                finally:
                    timer.cancel()
                # Let this change's other listeners and AMI handlers run first (a
                # CallQueued comes before the waiting monitor has seen the join).
                await asyncio.sleep(0)
        finally:
            self._subscribers.discard(wake)

"""A fake of ivr.clock.Clock for unit tests: time moves only when the test says."""

import asyncio
import heapq
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class FakeClock:
    """The monitors' Clock, moved by hand: `advance` runs the timers that fall due, in order;
    the tasks they spawn run at the next `settle`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.epoch = datetime(2026, 1, 5, 9, 0, tzinfo=UTC) - timedelta(seconds=start)
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = 0

    def now(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.epoch + timedelta(seconds=self.t)

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> "_FakeTimer":
        timer = _FakeTimer(callback, args)
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, timer))
        return timer

    async def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, running each timer at its time and the tasks it
        starts before the next one."""
        await self.advance_to(self.t + seconds)

    async def advance_to(self, end: float) -> None:
        """Move time on to `end` exactly (never back), as `advance` does."""
        end = max(self.t, end)
        await settle()
        while self._timers and self._timers[0][0] <= end:
            when, _, timer = heapq.heappop(self._timers)
            self.t = max(self.t, when)
            if not timer.cancelled:
                timer.callback(*timer.args)
                await settle()
        self.t = end
        await settle()


class _FakeTimer:
    def __init__(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.callback, self.args, self.cancelled = callback, args, False

    def cancel(self) -> None:
        self.cancelled = True


async def settle() -> None:
    """Let the spawned tasks run to their end (they only await fakes)."""
    for _ in range(20):
        await asyncio.sleep(0)

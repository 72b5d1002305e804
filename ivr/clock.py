"""The one clock: the event loop's time and timers; unit tests use tests/fake_clock.py."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...  # monotonic seconds
    def wall(self) -> datetime: ...  # the same instant in UTC
    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer: ...


class LoopClock:
    """The running event loop's time and timers."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer:
        return asyncio.get_running_loop().call_at(when, callback, *args)


async def sleep_on(clock: Clock, seconds: float) -> None:
    """Wait `seconds` on `clock` (a fake clock's `advance` wakes it)."""
    woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timer = clock.call_at(clock.now() + seconds, _wake, woken)
    try:
        await woken
    finally:
        timer.cancel()


def _wake(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)

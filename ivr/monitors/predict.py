"""The live inputs of the wait prediction: each queue's average handle time, read from the
journal every `refresh` seconds over the last `window` seconds, and the agents the board
sees now; `WaitPredictor.predict` joins them with ivr.routing.predict.

A queue with fewer than `min_calls` calls in the window uses its queues.yaml `handle_time`
(the journal's figure would be noise); with enough, the mean talk time plus the queue's
wrap-up. A failed read keeps the last figures (logged).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ivr.clock import Clock
from ivr.queues.model import QueueSpec
from ivr.routing.predict import Prediction, Staffing, predict_wait
from ivr.storage.batch import brief
from ivr.storage.prediction import HandleTime

log = logging.getLogger(__name__)

RunBlocking = Callable[..., Awaitable[Any]]
LoadHandleTimes = Callable[[datetime, datetime], Sequence[HandleTime]]


class HandleTimes:
    """Run `run()` as a background task; `mean(queue)` is the last figure read."""

    def __init__(
        self,
        load: LoadHandleTimes,
        clock: Clock,
        *,
        window: float = 3600.0,
        refresh: float = 60.0,
        min_calls: int = 3,
        run_blocking: RunBlocking | None = None,
    ) -> None:
        self._load = load
        self._clock = clock
        self._window = window
        self._refresh = refresh
        self._min_calls = min_calls
        self._run_blocking = run_blocking or asyncio.to_thread
        self._means: Mapping[str, float] = {}

    def mean(self, queue: str) -> float | None:
        """The queue's mean talk time over the window; None: too few calls."""
        return self._means.get(queue)

    async def run(self) -> None:
        while True:
            await self.refresh()
            ends = asyncio.Event()
            timer = self._clock.call_at(self._clock.now() + self._refresh, ends.set)
            try:
                await ends.wait()
            finally:
                timer.cancel()

    async def refresh(self) -> None:
        until = self._clock.wall()
        since = until - timedelta(seconds=self._window)
        try:
            found = await self._run_blocking(self._load, since, until)
        except Exception as exc:
            log.warning("handle times not refreshed, keeping the last ones: %s", brief(exc))
            return
        self._means = {h.queue: h.seconds for h in found if h.calls >= self._min_calls}


class WaitPredictor:
    """A caller's predicted wait from the live state: `staffing(queue)` (the agent board)
    and `mean_talk(queue)` (HandleTimes.mean)."""

    def __init__(
        self,
        staffing: Callable[[str], Staffing],
        mean_talk: Callable[[str], float | None],
    ) -> None:
        self._staffing = staffing
        self._mean_talk = mean_talk

    def handle_time(self, queue: QueueSpec) -> float:
        talk = self._mean_talk(queue.name)
        return queue.handle_time if talk is None else max(1.0, talk + queue.wrapup)

    def predict(self, queue: QueueSpec, position: int) -> Prediction:
        return predict_wait(max(1, position), self._staffing(queue.name), self.handle_time(queue))

"""The wait prediction's live inputs: handle times refreshed from the journal on the fake
clock, the configured handle time without history, the queue's wrap-up added."""

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from ivr.monitors.predict import HandleTimes, WaitPredictor
from ivr.routing.predict import Staffing
from ivr.storage.prediction import HandleTime
from ivr.tasks import TaskSet
from tests.fake_clock import FakeClock, settle
from tests.unit.monitors.kit import queues

CONFIG = queues({"q": {"handle_time": 90, "wrapup": 5}, "r": {}})


class Journal:
    """The repository's handle_times: what the test puts in `found`, each read recorded."""

    def __init__(self) -> None:
        self.found: list[HandleTime] = []
        self.reads: list[tuple[datetime, datetime]] = []
        self.failure: Exception | None = None

    def __call__(self, since: datetime, until: datetime) -> Sequence[HandleTime]:
        self.reads.append((since, until))
        if self.failure is not None:
            raise self.failure
        return list(self.found)


async def inline(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


def handle_times(journal: Journal, clock: FakeClock) -> HandleTimes:
    run: Callable[..., Awaitable[Any]] = inline
    return HandleTimes(journal, clock, window=600, refresh=30, min_calls=2, run_blocking=run)


async def test_handle_times_are_read_over_the_window_every_refresh(
    tasks: TaskSet, caplog: pytest.LogCaptureFixture
) -> None:
    clock, journal = FakeClock(), Journal()
    journal.found = [HandleTime("q", 120.0, 2), HandleTime("r", 500.0, 1)]
    times = handle_times(journal, clock)
    tasks.spawn(times.run(), name="handle-times")
    await settle()
    assert journal.reads == [(clock.wall() - timedelta(seconds=600), clock.wall())]
    assert (times.mean("q"), times.mean("r")) == (120.0, None)  # r: one call is too few
    journal.found = [HandleTime("q", 60.0, 5)]
    await clock.advance(29)
    assert len(journal.reads) == 1 and times.mean("q") == 120.0
    await clock.advance(1)
    assert len(journal.reads) == 2 and times.mean("q") == 60.0
    journal.failure = OSError("database is down")
    await clock.advance(30)
    assert len(journal.reads) == 3 and times.mean("q") == 60.0  # the last figures stay
    assert "handle times not refreshed" in caplog.text


async def test_the_predictor_adds_the_wrap_up_or_uses_the_configured_handle_time() -> None:
    clock, journal = FakeClock(), Journal()
    times = handle_times(journal, clock)
    staffing = {"q": Staffing(ready=0, busy=2), "r": Staffing(0, 0)}
    predictor = WaitPredictor(staffing.__getitem__, times.mean)
    q = CONFIG.queues["q"]
    assert predictor.handle_time(q) == 90  # no history yet: queues.yaml's
    prediction = predictor.predict(q, 3)
    assert (prediction.seconds, prediction.handle_time) == (135.0, 90)
    journal.found = [HandleTime("q", 55.0, 4)]
    await times.refresh()
    assert predictor.handle_time(q) == 60.0  # mean talk + wrap-up
    assert predictor.predict(q, 1).seconds == 30.0
    assert predictor.predict(CONFIG.queues["r"], 1).seconds is None  # nobody on duty

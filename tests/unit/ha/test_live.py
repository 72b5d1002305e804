"""LivePublisher and LiveReader on fakes: the owner alone writes; a reader keeps the rows,
counts their age on, leaves a stale or unreadable one out of the fresh ones, and keeps
its cache when the database does not answer."""

from collections.abc import Mapping
from typing import Any

import pytest

from ivr.ha.live import LivePublisher, LiveReader
from ivr.storage.live_state import LiveRow
from tests.fake_clock import FakeClock
from tests.unit.ha.live_kit import Rows, inline


def decode(payload: Mapping[str, Any], written: float) -> tuple[str, float]:
    """A stand-in floor: the payload's name and the loop time it was written at."""
    if "name" not in payload:
        raise ValueError("no name")
    return str(payload["name"]), written


async def test_only_the_owner_publishes_and_a_failed_write_is_said_once() -> None:
    rows, acting = Rows(), [False]
    publisher = LivePublisher(
        rows, "ast1", "engine-a", lambda: {"name": "floor"}, lambda: acting[0], run=inline
    )
    assert not await publisher.publish_once() and rows.rows == {}
    acting[0] = True
    assert await publisher.publish_once()
    assert rows.rows["ast1"] == LiveRow("ast1", "engine-a", 0.0, {"name": "floor"})
    rows.down = True
    assert not await publisher.publish_once()
    assert publisher.last_error == "database unavailable (live: timed out)"
    rows.down = False
    assert await publisher.publish_once()
    assert (publisher.published, publisher.last_error) == (2, None)


async def test_a_row_s_age_runs_on_from_its_read_until_it_is_stale() -> None:
    rows, clock = Rows(), FakeClock(start=50.0)
    rows.rows["ast1"] = LiveRow("ast1", "engine-a", 0.4, {"name": "floor"})
    reader = LiveReader(rows, decode, clock, run=inline, stale_after=5.0)
    assert reader.shared() == []  # nothing read yet
    await reader.refresh()
    [row] = reader.shared()
    assert (row.asterisk, row.engine, row.floor) == ("ast1", "engine-a", ("floor", 49.6))
    assert row.age == pytest.approx(0.4) and row.fresh(reader.stale_after)
    await clock.advance(3.0)
    rows.down = True  # the owner's row cannot be read again: the cached one grows old
    await reader.refresh()
    assert reader.last_error == "database unavailable (live: timed out)"
    [row] = reader.shared()
    assert row.age == pytest.approx(3.4) and row.fresh(reader.stale_after)
    await clock.advance(2.0)
    [row] = reader.shared()
    assert row.age == pytest.approx(5.4) and not row.fresh(reader.stale_after)


async def test_an_unreadable_row_is_left_out_and_the_others_kept() -> None:
    rows, clock = Rows(), FakeClock(start=10.0)
    rows.rows["ast1"] = LiveRow("ast1", "engine-a", 0.0, {"format": 99})
    rows.rows["ast2"] = LiveRow("ast2", "engine-b", 1.0, {"name": "two"})
    reader = LiveReader(rows, decode, clock, run=inline)
    await reader.refresh()
    assert [(r.asterisk, r.floor) for r in reader.shared()] == [("ast2", ("two", 9.0))]
    assert reader.last_error is None

"""LiveSources: the owner shows its monitors, a standby the owner's row (while fresh), and
every engine the rows of the other Asterisks; status() says which, with owner and age."""

from collections.abc import Callable
from typing import Any

from ivr.ha.live import LiveReader
from ivr.monitors.live_json import LiveFloor, floor_from_json, floor_json
from ivr.storage.live_state import LiveRow
from ivr.web.live.sources import LiveSources, LocalFloor
from tests.fake_clock import FakeClock
from tests.unit.ha.live_kit import Rows, inline
from tests.unit.web.kit import agents, talk, waiter

OWNER_NOW = 160.0  # the owner's loop time when it wrote


def payload(*call_ids: str) -> dict[str, Any]:
    callers = [waiter(c, "internet", joined=OWNER_NOW - 30.0).snapshot() for c in call_ids]
    return floor_json(OWNER_NOW, callers, [talk("t1", "internet").snapshot()], [])


def sources(
    acting: Callable[[], bool], rows: Rows, clock: FakeClock
) -> tuple[LiveSources, LiveReader[LiveFloor]]:
    reader = LiveReader(rows, floor_from_json, clock, run=inline, stale_after=5.0)
    local = [waiter("mine", "internet", joined=clock.now() - 3.0).snapshot()]
    site = LocalFloor(
        "ast1",
        "engine-b",
        acting,
        waiting=lambda: local,
        talking=list,
        agents=lambda: [a.snapshot() for a in agents()],
    )
    board = LiveSources([site], shared=reader)
    return board, reader


async def test_a_standby_shows_the_owner_s_row_on_its_own_clock() -> None:
    rows, clock = Rows(), FakeClock(start=7.0)  # the standby's loop clock: unrelated
    rows.rows["ast1"] = LiveRow("ast1", "engine-a", 0.5, payload("c1", "c2"))
    board, reader = sources(lambda: False, rows, clock)
    await reader.refresh()
    assert [c.call_id for c in board.waiting()] == ["c1", "c2"]
    assert [round(clock.now() - c.joined, 3) for c in board.waiting()] == [30.5, 30.5]
    assert [t.call_id for t in board.talking()] == ["t1"]
    assert board.agents() == []  # the owner saw none; the standby's own are not current
    assert board.status() == [
        {"asterisk": "ast1", "source": "shared", "owner": "engine-a", "age": 0.5}
    ]


async def test_a_stale_row_is_no_live_data_and_no_row_is_said_too() -> None:
    rows, clock = Rows(), FakeClock(start=7.0)
    board, reader = sources(lambda: False, rows, clock)
    assert board.status() == [{"asterisk": "ast1", "source": "none", "owner": None, "age": None}]
    rows.rows["ast1"] = LiveRow("ast1", "engine-a", 4.0, payload("c1"))
    await reader.refresh()
    assert [c.call_id for c in board.waiting()] == ["c1"]
    await clock.advance(1.5)  # the owner died: no newer row
    assert board.waiting() == [] and board.talking() == []
    assert board.status() == [
        {"asterisk": "ast1", "source": "stale", "owner": "engine-a", "age": 5.5}
    ]


async def test_the_owner_shows_its_monitors_and_the_other_asterisks_rows() -> None:
    rows, clock = Rows(), FakeClock(start=7.0)
    rows.rows["ast1"] = LiveRow("ast1", "engine-b", 0.2, payload("old"))  # its own last row
    rows.rows["ast2"] = LiveRow("ast2", "engine-c", 0.3, payload("c9"))
    board, reader = sources(lambda: True, rows, clock)
    await reader.refresh()
    assert [c.call_id for c in board.waiting()] == ["mine", "c9"]
    assert [a.id for a in board.agents()] == [a.id for a in agents()]
    assert board.status() == [
        {"asterisk": "ast1", "source": "local", "owner": "engine-b", "age": 0.0},
        {"asterisk": "ast2", "source": "shared", "owner": "engine-c", "age": 0.3},
    ]


async def test_an_engine_on_two_asterisks_shows_its_own_and_the_other_owner_s_row() -> None:
    """It owns ast1 (its monitors) and stands by for ast2 (the owner's row): the union."""
    rows, clock = Rows(), FakeClock(start=7.0)
    reader = LiveReader(rows, floor_from_json, clock, run=inline, stale_after=5.0)
    mine = [waiter("mine", "internet", joined=clock.now() - 3.0).snapshot()]
    sites = [
        LocalFloor("ast1", "e3", lambda: True, waiting=lambda: mine, talking=list, agents=list),
        LocalFloor("ast2", "e3", lambda: False, waiting=lambda: mine, talking=list, agents=list),
    ]
    board = LiveSources(sites, shared=reader)
    rows.rows["ast1"] = LiveRow("ast1", "e3", 0.2, payload("old"))  # its own row: not read
    rows.rows["ast2"] = LiveRow("ast2", "e1", 0.5, payload("c2"))
    await reader.refresh()
    assert sorted(c.call_id for c in board.waiting()) == ["c2", "mine"]
    assert [s["source"] for s in board.status()] == ["local", "shared"]

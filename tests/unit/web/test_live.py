"""LiveBoard: the snapshot from fake monitors and a real SQLite store, the KPI refresh
(interval, debounce, errors) and the update stream."""

import asyncio
import itertools
import logging
import time
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AgentChanged,
    CallAbandoned,
    CallAnswered,
    CallbackAttempted,
    CallbackRequested,
    CallCompleted,
    CallEnded,
    CallQueued,
    MeterReadingSubmitted,
    UnreachableReported,
)
from ivr.flow.calendar import local_midnight
from ivr.routing.escalation import TARGET
from ivr.storage.models import CallRecord
from ivr.storage.service_level import ServiceLevelRepository
from ivr.tasks import TaskSet
from tests.unit.web.kit import (
    KYIV,
    LINE,
    MIDNIGHT,
    NOW,
    OTHER_LINE,
    STRAY_LINE,
    Clock,
    Live,
    agents,
    at,
    board,
    seed,
    talk,
    waiter,
)

ZEROS = {
    "offered": 0,
    "answered": 0,
    "within_target": 0,
    "abandoned": 0,
    "service_level": None,
    "asa": None,
    "average_talk": None,
    "abandon_rate": None,
    "over_guideline": 0,
}
NO_KPIS = {
    "answered": 0,
    "average_talk": None,
    "occupancy": None,
    "not_ready_seconds": 0.0,
    "ringing_seconds": 0.0,
    "talk_seconds": 0.0,
}


def busy_floor() -> Live:
    return Live(
        waiters=[
            waiter("w2", "billing", joined=150.0),
            waiter("w1", "internet", joined=100.0, done={TARGET, 0}),
            waiter("gone", "internet", joined=90.0, in_queue=False),
        ],
        talks=[talk("t1", "internet")],
        agents=agents(),
    )


async def test_snapshot_joins_the_live_floor_and_todays_kpis(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions)
    live_board = board(sessions, busy_floor(), Clock())
    await live_board.refresh()

    assert live_board.snapshot() == {
        "at": "2025-03-10T10:00:00+00:00",
        "since": "2025-03-09T22:00:00+00:00",
        "timezone": "Europe/Kyiv",
        "totals": {
            "waiting": 2,
            "offered": 4,
            "answered": 2,
            "within_target": 1,
            "abandoned": 2,
            "service_level": 0.3333,
            "asa": 20.0,
            "average_talk": 150.0,
            "abandon_rate": 0.5,
            "over_guideline": 1,
            "open_callbacks": 3,
            "unreachable_reports": 3,
        },
        "waiting": [
            {
                "call_id": "w1",
                "queue": "internet",
                "line": LINE,
                "caller_class": "vip",
                "priority": 10,
                "since": "2025-03-10T09:59:00+00:00",
                "wait": 60.0,
                "escalations": ["raise_priority"],
            },
            {
                "call_id": "w2",
                "queue": "billing",
                "line": LINE,
                "caller_class": "vip",
                "priority": 10,
                "since": "2025-03-10T09:59:50+00:00",
                "wait": 10.0,
                "escalations": [],
            },
        ],
        "talking": [{"call_id": "t1", "queue": "internet", "agent": "1001", "talk": 160.0}],
        "agents": [
            {
                "id": "1001",
                "name": "Olena",
                "state": "paused",
                "reason": "lunch",
                "since": "2025-03-10T09:30:00+00:00",
                "in_state": 1800.0,
                "queues": ["internet"],
                "answered": 2,
                "average_talk": 150.0,
                "occupancy": 0.3333,  # 30 min in calls of 90 min available
                "not_ready_seconds": 1800.0,
                "ringing_seconds": 10.0,
                "talk_seconds": 300.0,
            },
            {
                "id": "1002",
                "name": "Andrii",
                "state": "ready",
                "reason": "",
                "since": "2025-03-10T09:55:00+00:00",
                "in_state": 300.0,
                "queues": ["internet"],
                **NO_KPIS,
            },
            {
                "id": "1003",
                "name": "Iryna",
                "state": "logged_out",
                "reason": "",
                "since": "2025-03-10T07:00:00+00:00",
                "in_state": 10800.0,
                "queues": [],
                **NO_KPIS,
            },
        ],
        "queues": [
            {
                "key": "internet",
                "title": "Internet support",
                "answer_target": 20,
                "waiting": 1,
                "longest_wait": 60.0,
                "ready_agents": 1,
                "talking": 1,
                "offered": 3,
                "answered": 2,
                "within_target": 1,
                "abandoned": 1,
                "service_level": 0.3333,
                "asa": 20.0,
                "average_talk": 150.0,
                "abandon_rate": 0.3333,
                "over_guideline": 1,
            },
            {
                "key": "billing",
                "title": "Billing",
                "answer_target": 30,
                "waiting": 1,
                "longest_wait": 10.0,
                "ready_agents": 0,
                "talking": 0,
                "offered": 1,
                "answered": 0,
                "within_target": 0,
                "abandoned": 1,
                "service_level": None,  # an early hang-up counts neither way
                "asa": None,
                "average_talk": None,
                "abandon_rate": 1.0,
                "over_guideline": 0,
            },
        ],
        "lines": [
            {
                "key": LINE,
                "city": "Kyiv",
                "sphere": "service",
                "offered": 3,
                "answered": 2,
                "within_target": 1,
                "abandoned": 1,
                "service_level": 0.5,
                "asa": 20.0,
                "average_talk": 150.0,
                "abandon_rate": 0.3333,
                "over_guideline": 1,
                "unreachable_reports": 1,
            },
            {
                "key": OTHER_LINE,
                "city": "Lviv",
                "sphere": "connections",
                **ZEROS,
                "unreachable_reports": 0,
            },
            {
                "key": STRAY_LINE,
                "city": "",
                "sphere": "",
                **ZEROS,
                "offered": 1,
                "abandoned": 1,
                "service_level": 0.0,
                "abandon_rate": 1.0,
                "unreachable_reports": 0,
            },
        ],
        "callbacks": {"open": 2, "dialling": 1, "done": 1, "failed": 0},
        "unreachable": [{"line": "5559000", "reports": 2}, {"line": LINE, "reports": 1}],
    }


async def test_before_the_first_refresh_the_kpis_are_zero(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions)
    snapshot = board(sessions, Live(), Clock()).snapshot()
    assert snapshot["since"] == "2025-03-09T22:00:00+00:00"
    assert snapshot["totals"] == {
        "waiting": 0,
        **ZEROS,
        "open_callbacks": 0,
        "unreachable_reports": 0,
    }
    assert snapshot["callbacks"] == {"open": 0, "dialling": 0, "done": 0, "failed": 0}
    assert [q["offered"] for q in snapshot["queues"]] == [0, 0]
    assert snapshot["waiting"] == snapshot["agents"] == snapshot["unreachable"] == []


async def test_the_snapshot_holds_no_caller_data(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    live_board = board(sessions, busy_floor(), Clock())
    await live_board.refresh()
    text = repr(live_board.snapshot())
    for personal in ("0671112233", "PJSIP/trunk", "uk"):
        assert personal not in text


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        (NOW, MIDNIGHT),
        (datetime(2025, 3, 9, 21, 59, tzinfo=UTC), datetime(2025, 3, 8, 22, 0, tzinfo=UTC)),
        # summer time (UTC+3) from 30 March
        (datetime(2025, 7, 1, 0, 30, tzinfo=UTC), datetime(2025, 6, 30, 21, 0, tzinfo=UTC)),
    ],
)
def test_today_starts_at_local_midnight(now: datetime, midnight: datetime) -> None:
    assert local_midnight(now.astimezone(KYIV).date(), KYIV) == midnight


async def test_a_new_day_starts_from_zero(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    clock = Clock()
    live_board = board(sessions, Live(), clock)
    await live_board.refresh()
    assert live_board.snapshot()["totals"]["offered"] == 4
    clock.now = NOW + timedelta(days=1)
    await live_board.refresh()
    snapshot = live_board.snapshot()
    assert snapshot["since"] == "2025-03-10T22:00:00+00:00"
    assert snapshot["totals"]["offered"] == 0
    assert snapshot["callbacks"]["open"] == 2  # the callback queue is not per day


class Levels(ServiceLevelRepository):
    """The real repository; notes the loop time of every read, fails when told to."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self.reads: list[float] = []
        self.failure: Exception | None = None

    def overall(self, since: datetime | None = None, until: datetime | None = None) -> Any:
        self.reads.append(time.monotonic())  # the event loop's clock
        if self.failure is not None:
            raise self.failure
        return super().overall(since, until)


async def test_a_storage_failure_keeps_the_last_kpis(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    seed(sessions)
    levels = Levels(sessions)
    live_board = board(sessions, Live(), Clock(), service_level=levels)
    await live_board.refresh()
    before = live_board.snapshot()
    assert before["totals"]["offered"] == 4
    levels.failure = RuntimeError("database is locked")
    with caplog.at_level(logging.WARNING, "ivr.web.live"):
        await live_board.refresh()
    assert live_board.snapshot() == before
    assert "KPIs not refreshed, keeping the last ones: RuntimeError: database is locked" in (
        caplog.text
    )


async def test_kpis_refresh_at_start_and_then_every_interval(
    sessions: sessionmaker[Session],
) -> None:
    levels = Levels(sessions)
    live_board = board(sessions, Live(), Clock(), service_level=levels, interval=0.3)
    loads = levels.reads
    tasks = TaskSet("test")
    start = asyncio.get_running_loop().time()
    tasks.spawn(live_board.run())
    try:
        for _ in range(300):  # 3 s at most (a busy machine delays the loop's timers)
            if len(loads) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await tasks.cancel_all()
    assert len(loads) == 3
    assert loads[0] - start < 0.25  # at start, not one interval later
    gaps = [b - a for a, b in itertools.pairwise(loads)]
    assert all(0.3 <= gap < 0.55 for gap in gaps), gaps  # every interval: none sooner or missed


async def test_a_burst_of_kpi_events_costs_one_refresh_after_the_debounce(
    sessions: sessionmaker[Session],
) -> None:
    levels = Levels(sessions)
    live_board = board(sessions, Live(), Clock(), service_level=levels, interval=60.0, debounce=0.1)
    loads = levels.reads
    loop = asyncio.get_running_loop()
    tasks = TaskSet("test")
    tasks.spawn(live_board.run())
    try:
        await asyncio.sleep(0.05)
        assert len(loads) == 1  # at start
        loads.clear()
        burst = loop.time()
        for n in range(5):
            live_board.on_event(UnreachableReported(f"c{n}", "555", LINE, "", "", "other", ""))
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.25)
        assert len(loads) == 1
        assert 0.1 <= loads[0] - burst < 0.2
        loads.clear()
        for event in (
            CallEnded("x", "16"),
            AgentChanged("1001", "internet", "ready"),
            MeterReadingSubmitted("m", LINE, "", "1", None, "5"),
        ):
            live_board.on_event(event)  # not KPI events
        await asyncio.sleep(0.2)
        assert loads == []
        for kpi_event in (
            CallAnswered("a", "internet", "1001", "Local/1001@a-1", 3.0, True),
            CallAbandoned("b", "internet", 12.0),
            CallCompleted("a", "internet", "1001", 60.0, "caller"),
            CallbackRequested("c", LINE, "067", "", "internet", "vip", NOW),
            CallbackAttempted(1, "067", 1, "busy", False),
        ):
            live_board.on_event(kpi_event)
            await asyncio.sleep(0.15)
        assert len(loads) == 5
    finally:
        await tasks.cancel_all()


async def test_refreshed_kpis_reach_the_board(sessions: sessionmaker[Session]) -> None:
    live_board = board(sessions, Live(), Clock(), interval=10.0, debounce=0.05)
    tasks = TaskSet("test")
    tasks.spawn(live_board.run())
    try:
        await asyncio.sleep(0.1)
        assert live_board.snapshot()["totals"]["answered"] == 0
        with sessions() as session, session.begin():
            session.execute(
                insert(CallRecord),
                [
                    {
                        "call_id": "new",
                        "queue": "internet",
                        "started_at": at(9, 59),
                        "answered_at": at(9, 59),
                        "wait_seconds": 3.0,
                        "target_met": True,
                    }
                ],
            )
        live_board.on_event(CallAnswered("new", "internet", "1001", "Local/1001@a-1", 3.0, True))
        await asyncio.sleep(0.3)
        assert live_board.snapshot()["totals"]["answered"] == 1
    finally:
        await tasks.cancel_all()


async def test_updates_push_a_snapshot_every_interval_and_at_once_on_changes(
    sessions: sessionmaker[Session],
) -> None:
    live = Live()
    clock = Clock()
    live_board = board(sessions, live, clock, push_every=0.3)
    loop = asyncio.get_running_loop()
    async with aclosing(live_board.updates()) as updates:
        start = loop.time()
        first = await anext(updates)
        assert first["waiting"] == [] and live_board.subscribers == 1
        clock.mono += 0.3
        second = await anext(updates)  # nothing changed: after push_every
        assert round(loop.time() - start, 1) == 0.3
        assert second["at"] == first["at"]

        def join() -> None:
            live_board.on_event(CallQueued("w1", "internet", 1))  # before the monitor...
            live.waiters.append(waiter("w1", "internet", joined=clock.mono))  # ...sees it

        before = loop.time()
        loop.call_later(0.05, join)
        third = await anext(updates)
        assert loop.time() - before < 0.15
        assert [w["call_id"] for w in third["waiting"]] == ["w1"]
        live_board.on_event(AgentChanged("1001", "internet", "ready"))
        before = loop.time()
        await anext(updates)
        assert loop.time() - before < 0.05
    assert live_board.subscribers == 0

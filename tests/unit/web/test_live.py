"""LiveBoard: the snapshot from fake monitors and a real SQLite store, the KPI refresh
(interval, debounce, errors) and the update stream, on the fake clock."""

import asyncio
import logging
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
from tests.fake_clock import FakeClock, settle
from tests.unit.web.kit import (
    KYIV,
    LINE,
    MIDNIGHT,
    MONO,
    NOW,
    OTHER_LINE,
    STRAY_LINE,
    Live,
    agents,
    at,
    board,
    fake_clock,
    inline,
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
    live_board = board(sessions, busy_floor(), fake_clock())
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
        "live": [],  # the board's live_status (ivr.web.live.sources): none given here
    }


async def test_before_the_first_refresh_the_kpis_are_zero(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions)
    snapshot = board(sessions, Live(), fake_clock()).snapshot()
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
    live_board = board(sessions, busy_floor(), fake_clock())
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
    clock = fake_clock()
    live_board = board(sessions, Live(), clock)
    await live_board.refresh()
    assert live_board.snapshot()["totals"]["offered"] == 4
    await clock.advance(timedelta(days=1).total_seconds())
    await live_board.refresh()
    snapshot = live_board.snapshot()
    assert snapshot["since"] == "2025-03-10T22:00:00+00:00"
    assert snapshot["totals"]["offered"] == 0
    assert snapshot["callbacks"]["open"] == 2  # the callback queue is not per day


class Levels(ServiceLevelRepository):
    """The real repository; notes the clock's time of every read, fails when told to."""

    def __init__(self, sessions: sessionmaker[Session], clock: FakeClock | None = None) -> None:
        super().__init__(sessions)
        self.clock = clock
        self.reads: list[float] = []
        self.failure: Exception | None = None

    def overall(self, since: datetime | None = None, until: datetime | None = None) -> Any:
        self.reads.append(self.clock.now() if self.clock else 0.0)
        if self.failure is not None:
            raise self.failure
        return super().overall(since, until)


async def test_a_storage_failure_keeps_the_last_kpis(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    seed(sessions)
    levels = Levels(sessions)
    live_board = board(sessions, Live(), fake_clock(), service_level=levels)
    await live_board.refresh()
    before = live_board.snapshot()
    assert before["totals"]["offered"] == 4
    levels.failure = RuntimeError("database is locked")
    with caplog.at_level(logging.WARNING, "ivr.web.live.kpis"):
        await live_board.refresh()
    assert live_board.snapshot() == before
    assert "KPIs not refreshed, keeping the last ones: RuntimeError: database is locked" in (
        caplog.text
    )


async def test_kpis_refresh_at_start_and_then_every_interval(
    sessions: sessionmaker[Session],
) -> None:
    clock = fake_clock()
    levels = Levels(sessions, clock)
    live_board = board(
        sessions, Live(), clock, service_level=levels, interval=2.0, run_blocking=inline
    )
    tasks = TaskSet("test")
    tasks.spawn(live_board.run())
    try:
        await settle()
        assert levels.reads == [MONO]  # at start, not one interval later
        await clock.advance(1.5)
        assert levels.reads == [MONO]
        await clock.advance(0.5)
        assert levels.reads == [MONO, MONO + 2.0]
        await clock.advance(4.0)
        assert levels.reads == [MONO, MONO + 2.0, MONO + 4.0, MONO + 6.0]  # none missed
    finally:
        await tasks.cancel_all()


async def test_a_burst_of_kpi_events_costs_one_refresh_after_the_debounce(
    sessions: sessionmaker[Session],
) -> None:
    clock = fake_clock()
    levels = Levels(sessions, clock)
    live_board = board(
        sessions,
        Live(),
        clock,
        service_level=levels,
        interval=60.0,
        debounce=0.25,
        run_blocking=inline,
    )
    loads = levels.reads
    tasks = TaskSet("test")
    tasks.spawn(live_board.run())
    try:
        await settle()
        assert loads == [MONO]  # at start
        loads.clear()
        burst = clock.now()
        for n in range(5):
            live_board.on_event(UnreachableReported(f"c{n}", "555", LINE, "", "", "other", ""))
            await clock.advance(0.03125)
        await clock.advance(0.25 - 5 * 0.03125 - 0.03125)
        assert loads == []  # not before the debounce
        await clock.advance(0.03125)
        assert loads == [burst + 0.25]
        await clock.advance(1.0)
        assert loads == [burst + 0.25]  # one refresh for the burst
        loads.clear()
        for event in (
            CallEnded("x", "16"),
            AgentChanged("1001", "internet", "ready"),
            MeterReadingSubmitted("m", LINE, "", "1", None, "5"),
        ):
            live_board.on_event(event)  # not KPI events
        await clock.advance(1.0)
        assert loads == []
        for kpi_event in (
            CallAnswered("a", "internet", "1001", "Local/1001@a-1", 3.0, True),
            CallAbandoned("b", "internet", 12.0),
            CallCompleted("a", "internet", "1001", 60.0, "caller"),
            CallbackRequested("c", LINE, "067", "", "internet", "vip", NOW),
            CallbackAttempted(1, "067", 1, "busy", False),
        ):
            live_board.on_event(kpi_event)
            await clock.advance(0.25)
        assert len(loads) == 5
    finally:
        await tasks.cancel_all()


async def test_refreshed_kpis_reach_the_board(sessions: sessionmaker[Session]) -> None:
    clock = fake_clock()
    live_board = board(sessions, Live(), clock, interval=10.0, debounce=0.25, run_blocking=inline)
    tasks = TaskSet("test")
    tasks.spawn(live_board.run())
    try:
        await settle()
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
        await clock.advance(0.25)
        assert live_board.snapshot()["totals"]["answered"] == 1
    finally:
        await tasks.cancel_all()


async def test_updates_push_a_snapshot_every_interval_and_at_once_on_changes(
    sessions: sessionmaker[Session],
) -> None:
    live = Live()
    clock = fake_clock()
    live_board = board(sessions, live, clock, push_every=0.5)
    async with aclosing(live_board.updates()) as updates:
        first = await anext(updates)
        assert first["waiting"] == [] and live_board.subscribers == 1
        second = asyncio.create_task(anext(updates))
        await clock.advance(0.25)
        assert not second.done()
        await clock.advance(0.25)  # nothing changed: after push_every
        assert second.done()
        assert (await second)["at"] == "2025-03-10T10:00:00.500000+00:00"

        third = asyncio.create_task(anext(updates))
        await settle()
        live_board.on_event(CallQueued("w1", "internet", 1))  # before the monitor...
        live.waiters.append(waiter("w1", "internet", joined=clock.now()))  # ...sees it
        await settle()
        assert third.done()  # at once: the clock did not move
        assert [w["call_id"] for w in (await third)["waiting"]] == ["w1"]

        fourth = asyncio.create_task(anext(updates))
        await settle()
        live_board.on_event(AgentChanged("1001", "internet", "ready"))
        await settle()
        assert fourth.done()
        await fourth
    assert live_board.subscribers == 0

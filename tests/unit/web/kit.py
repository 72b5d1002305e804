"""Fakes and a seeded store for the live board's tests: a known day at a call centre.

The clock stands at 2025-03-10 10:00 UTC = 12:00 in Kyiv (UTC+2 in March), loop time 160,
so "today" starts at 2025-03-09 22:00 UTC.
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from ivr.clock import Clock, Timer
from ivr.flow.calendar import Calendar
from ivr.flow.model import FlowLibrary, Line, Sphere
from ivr.monitors.agents import AgentSnapshot, AgentState
from ivr.monitors.talk import Talk
from ivr.monitors.waiting import Waiter
from ivr.queues.model import QueuesConfig, parse_queues
from ivr.routing.escalation import waiting_marks
from ivr.storage.kpi import KpiRepository
from ivr.storage.models import (
    AgentActivityRecord,
    AgentRingRecord,
    CallbackRequestRecord,
    CallRecord,
    UnreachableReportRecord,
)
from ivr.storage.reports import ReportRepository
from ivr.storage.service_level import ServiceLevelRepository
from ivr.web.live.board import LiveBoard
from tests.fake_clock import FakeClock

NOW = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
MIDNIGHT = datetime(2025, 3, 9, 22, 0, tzinfo=UTC)  # 00:00 in Kyiv
KYIV = ZoneInfo("Europe/Kyiv")
LINE = "5552000"  # a configured line (internet support, Kyiv)
OTHER_LINE = "5554000"  # configured, no calls today
STRAY_LINE = "5553000"  # had a call, not in the flows


def at(hh: int, mm: int = 0) -> datetime:
    """A time today (UTC)."""
    return NOW.replace(hour=hh, minute=mm)


def config() -> QueuesConfig:
    return parse_queues(
        {
            "caller_classes": {"vip": {"priority": 10}, "regular": {"priority": 5}},
            "fallback_queue": "internet",
            "agents": {
                "1001": {"name": "Olena", "interface": "Local/1001@a", "skills": {"internet": 0}},
                "1002": {"name": "Andrii", "interface": "Local/1002@a", "skills": {"internet": 0}},
                "1003": {"name": "Iryna", "interface": "Local/1003@a", "skills": {"billing": 0}},
            },
            "queues": {
                "internet": {
                    "title": "Internet support",
                    "answer_target": 20,
                    "escalation": [
                        {"after": 20, "raise_priority": 3},
                        {"after": 40, "overflow": "billing"},
                    ],
                },
                "billing": {"title": "Billing", "answer_target": 30},
            },
        }
    )


def library() -> FlowLibrary:
    return FlowLibrary(
        flows={},
        lines={
            LINE: Line(LINE, Sphere.SERVICE, "Kyiv", "site", "main"),
            OTHER_LINE: Line(OTHER_LINE, Sphere.CONNECTIONS, "Lviv", "leaflet", "main"),
        },
        default_flow="main",
        calendar=Calendar(KYIV, frozenset(), {}),
    )


def waiter(
    call_id: str, queue: str, joined: float, done: Iterable[int] = (), in_queue: bool = True
) -> Waiter:
    spec = config().queues[queue]
    return Waiter(
        call_id=call_id,
        channel=f"PJSIP/trunk-{call_id}",
        queue=queue,
        first_queue=queue,
        line=LINE,
        caller="0671112233",
        caller_class="vip",
        priority=10,
        language="uk",
        joined=joined,
        joined_at=NOW - timedelta(seconds=160 - joined),  # loop time 160 = NOW
        target=spec.answer_target,
        marks=waiting_marks(spec),
        done=set(done),
        in_queue=in_queue,
    )


def talk(call_id: str, queue: str) -> Talk:
    return Talk(call_id, queue, "1001", "Local/1001@a-1", "PJSIP/trunk-1", 0.0, ())


MONO = 160.0  # the loop time at NOW


def fake_clock() -> FakeClock:
    """The fake clock at NOW (loop time MONO); time moves when the test advances it."""
    clock = FakeClock(start=MONO)
    clock.epoch = NOW - timedelta(seconds=MONO)
    return clock


class StillClock:
    """Readings that stand still at NOW (snapshots taken apart compare equal) and timers on
    the running event loop: for the streams over real HTTP connections."""

    def __init__(self) -> None:
        self.mono = MONO

    def now(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return NOW

    def call_at(self, when: float, callback: Callable[..., None], *args: object) -> Timer:
        return asyncio.get_running_loop().call_later(when - self.mono, callback, *args)


async def inline(call: Callable[..., object], *args: object) -> object:
    """Run a blocking call on the loop itself (storage reads happen at the fake time)."""
    return call(*args)


@dataclass
class Live:
    """The monitors and the agent board, as the live board reads them."""

    waiters: list[Waiter] = field(default_factory=list)
    talks: list[Talk] = field(default_factory=list)
    agents: list[AgentState] = field(default_factory=list)


def agents() -> list[AgentState]:
    return [
        AgentState("1001", "Olena", "Local/1001@a", {"internet"}, True, "lunch", since=at(9, 30)),
        AgentState("1002", "Andrii", "Local/1002@a", {"internet"}, since=at(9, 55)),
        AgentState("1003", "Iryna", "Local/1003@a", since=at(7)),
    ]


def board(
    sessions: sessionmaker[Session],
    live: Live,
    clock: Clock,
    *,
    service_level: ServiceLevelRepository | None = None,
    agents: Callable[[], Iterable[AgentSnapshot]] | None = None,
    **tuning: Any,
) -> LiveBoard:
    """A live board on `live` (or the real `agents` board) and the store's repositories."""
    return LiveBoard(
        waiting=lambda: [w.snapshot() for w in live.waiters],
        talking=lambda: [t.snapshot() for t in live.talks],
        agents=agents or (lambda: [a.snapshot() for a in live.agents]),
        queues=config,
        flows=library,
        service_level=service_level or ServiceLevelRepository(sessions),
        reports=ReportRepository(sessions),
        kpi=KpiRepository(sessions),
        clock=clock,
        **tuning,
    )


def _call(call_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"call_id": call_id, "over_guideline": False}
    row.update(values)
    return row


def seed(sessions: sessionmaker[Session]) -> None:
    """Today: 2 answered and 2 abandoned calls, 3 unreachable reports, 4 callbacks, agent
    1001's activity and rings; plus calls and a report from yesterday (not counted)."""
    calls = [
        _call("c1", line=LINE, queue="internet", started_at=at(8), answered_at=at(8, 1),
              agent="1001", wait_seconds=10.0, talk_seconds=100.0, target_met=True),
        _call("c2", line=LINE, queue="internet", started_at=at(8, 10), answered_at=at(8, 11),
              agent="1001", wait_seconds=30.0, talk_seconds=200.0, target_met=False,
              over_guideline=True),
        _call("c3", line=STRAY_LINE, queue="internet", started_at=at(8, 20),
              abandoned_at=at(8, 21), wait_seconds=40.0, target_met=False),
        _call("c4", line=LINE, queue="billing", started_at=at(8, 30), abandoned_at=at(8, 31),
              wait_seconds=5.0),
        _call("old", line=LINE, queue="internet", started_at=MIDNIGHT - timedelta(hours=1),
              answered_at=MIDNIGHT - timedelta(minutes=59), agent="1001", wait_seconds=1.0,
              talk_seconds=50.0, target_met=True),
    ]  # fmt: skip
    reports = [
        {"created_at": at(9, m), "reported_line": line, "problem": "no_answer"}
        for m, line in ((1, "5559000"), (2, "5559000"), (3, LINE))
    ]
    reports.append({"created_at": MIDNIGHT - timedelta(minutes=1), "reported_line": LINE})
    callbacks = [
        {"created_at": at(9), "phone": "0671112233", "status": status}
        for status in ("open", "open", "dialling", "done")
    ]
    activity = [
        {"agent": "1001", "state": "ready", "started_at": at(8), "ended_at": at(9)},
        {"agent": "1001", "state": "in_call", "started_at": at(9), "ended_at": at(9, 30)},
        {"agent": "1001", "state": "paused", "reason": "lunch", "started_at": at(9, 30)},
    ]
    rings = [
        {"at": at(8, 1), "agent": "1001", "queue": "internet", "ring_seconds": 4.0,
         "answered": True},
        {"at": at(8, 5), "agent": "1001", "queue": "internet", "ring_seconds": 6.0,
         "answered": False},
    ]  # fmt: skip
    tables: Mapping[Any, list[dict[str, Any]]] = {
        CallRecord: calls,
        UnreachableReportRecord: reports,
        CallbackRequestRecord: callbacks,
        AgentActivityRecord: activity,
        AgentRingRecord: rings,
    }
    with sessions() as session, session.begin():
        for table, rows in tables.items():
            keys = {key for row in rows for key in row}  # one shape per batch
            session.execute(insert(table), [dict.fromkeys(keys) | row for row in rows])

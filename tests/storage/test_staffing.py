"""Staffing per hour on both backends: offered calls and talk time per queue (journal),
agents logged in (activity log), against numbers worked out by hand."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AgentChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallQueued,
    CallRouted,
    CallStarted,
)
from ivr.storage.agent_log import AgentEvent, write_agent_events
from ivr.storage.journal import JournalEvent, write_events
from ivr.storage.staffing import QueueCalls, StaffingHour, StaffingRepository, add_logged_in

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 10:00 in Kyiv
KYIV = ZoneInfo("Europe/Kyiv")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def call(
    call_id: str, queue: str, start: float, talk: float | None, answer: bool = True
) -> list[JournalEvent]:
    events: list[JournalEvent] = [
        CallStarted(call_id, "5551000", "+380441234567", "PJSIP/trunk-1", at=at(start)),
        CallRouted(call_id, "5551000", "+380441234567", queue, "existing", 5, (), at=at(start)),
        CallQueued(call_id, queue, 1, at=at(start + 0.1)),
    ]
    if not answer:
        return [*events, CallAbandoned(call_id, queue, 30.0, at=at(start + 0.6))]
    events.append(CallAnswered(call_id, queue, "1001", "PJSIP/1001-1", 9.0, True, at=at(start + 1)))
    if talk is not None:
        events.append(CallCompleted(call_id, queue, "1001", talk, "caller", at=at(start + 4)))
    return events


def changed(agent: str, state: str, minutes: float) -> AgentChanged:
    return AgentChanged(agent, "internet", state, at=at(minutes))


CALLS = [
    *call("a1", "internet", 5, talk=100.0),
    *call("a2", "internet", 50, talk=200.0),
    *call("a3", "tv", 59.9, talk=None),  # still talking: offered, answered, no talk time
    *call("a4", "internet", 61, talk=None, answer=False),  # abandoned
    *call("a5", "internet", -1, talk=1000.0),  # before the window
    *call("a6", "tv", 180, talk=1000.0),  # at the end of the window: after it
]
ACTIVITY: list[AgentEvent] = [
    changed("1001", "ready", -30),  # logged in all along (open to the end of the window)
    changed("1001", "in_call", 6),
    changed("1001", "ready", 10),
    changed("1002", "ready", 30),  # 10:30 - 11:30
    changed("1002", "paused", 45),  # paused counts as logged in
    changed("1002", "logged_out", 90),
    changed("1003", "ready", 90),  # 11:30 - 11:45, logs in as 1002 leaves
    changed("1003", "logged_out", 105),
    changed("1004", "logged_out", -60),  # never logged in
]


@pytest.fixture
def staffing(sessions: sessionmaker[Session]) -> StaffingRepository:
    write_events(sessions, CALLS)
    write_agent_events(sessions, ACTIVITY)
    return StaffingRepository(sessions)


def test_calls_and_agents_per_hour(staffing: StaffingRepository) -> None:
    first, second, third = staffing.hours(T0, at(180), KYIV)
    assert [h.key for h in (first, second, third)] == [
        "2026-11-25T10:00",
        "2026-11-25T11:00",
        "2026-11-25T12:00",
    ]
    assert first.queues == {
        "internet": QueueCalls(offered=2, answered=2, talked=2, talk_seconds=300.0),
        "tv": QueueCalls(offered=1, answered=1, talked=0, talk_seconds=0.0),
    }
    assert second.queues == {"internet": QueueCalls(offered=1)}
    assert third.queues == {}
    # 10:00: 1001 all hour, 1002 from 10:30: 1.5 on average, 2 at most.
    assert (first.logged_in_average, first.logged_in_max) == (1.5, 2)
    # 11:00: 1001; 1002 to 11:30, then 1003 to 11:45 (never both): 1.75, 2 at most.
    assert (second.logged_in_average, second.logged_in_max) == (1.75, 2)
    assert (third.logged_in_average, third.logged_in_max) == (1.0, 1)


def test_one_queue_and_its_agents(staffing: StaffingRepository) -> None:
    hours = staffing.hours(T0, at(120), KYIV, queue="tv", agents=["1002", "1004"])
    assert [h.queues for h in hours] == [{"tv": QueueCalls(1, 1, 0, 0.0)}, {}]
    assert [(h.logged_in_average, h.logged_in_max) for h in hours] == [(0.5, 1), (0.5, 1)]


def test_a_window_cut_mid_hour_keeps_its_hours(staffing: StaffingRepository) -> None:
    first, second = staffing.hours(at(30), at(75), UTC)
    assert (first.key, first.seconds, second.key, second.seconds) == (
        "2026-11-25T08:00",
        1800.0,
        "2026-11-25T09:00",
        900.0,
    )
    assert first.queues["internet"].offered == 1  # a2 (a1 is before the window)
    # 08:30-09:00: 1001 and 1002 all along; 09:00-09:15: both.
    assert (first.logged_in_average, second.logged_in_average) == (2.0, 2.0)
    assert staffing.hours(at(30), at(30), UTC) == []


def test_logins_and_logouts_at_one_instant_are_not_two_agents() -> None:
    hour = StaffingHour("h", T0, at(60))
    add_logged_in([hour], [(at(-10), at(20)), (at(20), at(40)), (at(40), None)])
    assert (hour.logged_in_average, hour.logged_in_max) == (1.0, 1)

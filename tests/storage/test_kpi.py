"""Agent KPIs and callback counts on both backends, against numbers worked out by hand."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import AgentChanged, AgentRang, CallAnswered, CallCompleted
from ivr.storage.agent_log import AgentEvent, write_agent_events
from ivr.storage.db import make_engine, make_session_factory, migrate
from ivr.storage.journal import JournalEvent, write_events
from ivr.storage.kpi import AgentStats, KpiRepository, clipped_seconds, occupancy
from ivr.storage.models import AgentActivityRecord, CallbackRequestRecord
from tests.storage.query_plans import journal_query_plans

SINCE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(hours=2)


def at(minutes: float) -> datetime:
    return SINCE + timedelta(minutes=minutes)


def changed(agent: str, state: str, minutes: float, reason: str = "") -> AgentChanged:
    return AgentChanged(agent, "internet", state, reason, at=at(minutes))


def rang(agent: str, minutes: float, ring: float, answered: bool) -> AgentRang:
    return AgentRang(agent, "internet", f"r{minutes}", ring, answered, at=at(minutes))


def answered(
    call_id: str, agent: str, minutes: float, talk: float | None = None
) -> list[JournalEvent]:
    events: list[JournalEvent] = [
        CallAnswered(call_id, "internet", agent, f"PJSIP/{agent}-1", 12.0, True, at=at(minutes))
    ]
    if talk is not None:
        events.append(CallCompleted(call_id, "internet", agent, talk, "caller"))
    return events


ACTIVITY: list[AgentEvent] = [
    # agent-1: ready from before the window; a call, lunch, and a call still going at the end.
    changed("agent-1", "ready", -30),
    changed("agent-1", "in_call", 10),
    changed("agent-1", "ready", 30),
    changed("agent-1", "paused", 60, "lunch"),
    changed("agent-1", "ready", 90),
    changed("agent-1", "in_call", 110),  # open: ends at UNTIL
    # agent-2: paused across the window's start, then logged out past its end.
    changed("agent-2", "paused", -60, "training"),
    changed("agent-2", "logged_out", 30),
    changed("agent-2", "ready", 180),
    # agent-4: logged out all along (open interval from before the window).
    changed("agent-4", "logged_out", -120),
    # agent-8: logs in exactly at UNTIL: not in the window.
    changed("agent-8", "ready", 120),
]
RINGS: list[AgentEvent] = [
    rang("agent-1", 5, 12.5, True),
    rang("agent-1", 40, 15.0, False),
    rang("agent-1", 41, 15.0, False),
    rang("agent-1", -0.01, 30.0, False),  # before the window
    rang("agent-1", 120, 30.0, False),  # at UNTIL: after the window
    rang("agent-7", 50, 20.0, False),
]
CALLS: list[JournalEvent] = [
    *answered("c1", "agent-1", 10, talk=100.0),
    *answered("c2", "agent-1", 20, talk=200.0),
    *answered("c3", "agent-1", 110),  # still talking
    *answered("c4", "agent-1", -0.01, talk=1000.0),  # before the window
    *answered("c5", "agent-1", 120, talk=1000.0),  # at UNTIL: after the window
    *answered("c6", "agent-6", 45, talk=60.5),
]


@pytest.fixture
def kpi(sessions: sessionmaker[Session]) -> KpiRepository:
    write_agent_events(sessions, [*ACTIVITY, *RINGS])
    write_events(sessions, CALLS)
    return KpiRepository(sessions)


def test_agents(kpi: KpiRepository) -> None:
    assert kpi.agents(SINCE, UNTIL) == [
        AgentStats(
            agent="agent-1",
            answered=3,  # c1, c2, c3
            talk_seconds=300.0,
            average_talk=150.0,  # c3 has not ended
            # ready 10 min (from SINCE) + in call 20 + ready 30 + lunch 30 + ready 20
            # + in call 10 (open, to UNTIL)
            logged_in_seconds=7200.0,
            not_ready_seconds=1800.0,
            ringing_seconds=42.5,
            rings=3,
            missed_rings=2,
            occupancy=1800 / (7200 - 1800),
        ),
        AgentStats(
            agent="agent-2",  # paused while logged in: no time available for calls
            answered=0,
            talk_seconds=0.0,
            average_talk=None,
            logged_in_seconds=1800.0,
            not_ready_seconds=1800.0,
            ringing_seconds=0.0,
            rings=0,
            missed_rings=0,
            occupancy=None,
        ),
        AgentStats("agent-4", 0, 0.0, None, 0.0, 0.0, 0.0, 0, 0, None),  # logged out
        AgentStats("agent-6", 1, 60.5, 60.5, 0.0, 0.0, 0.0, 0, 0, None),  # journal only
        AgentStats("agent-7", 0, 0.0, None, 0.0, 0.0, 20.0, 1, 1, None),  # rings only
    ]


def test_agents_in_other_windows(kpi: KpiRepository) -> None:
    # The first half hour: agent-1 ready 10 min, in a call 20 min; agent-2 paused.
    first, second, *_ = kpi.agents(SINCE, at(30))
    assert (first.agent, first.answered, first.talk_seconds, first.rings) == (
        "agent-1",
        2,
        300.0,
        1,
    )
    assert (first.logged_in_seconds, first.not_ready_seconds) == (1800.0, 0.0)
    assert first.occupancy == pytest.approx(1200 / 1800)
    assert (second.agent, second.logged_in_seconds, second.occupancy) == (
        "agent-2",
        1800.0,
        None,
    )
    # Later: agent-2 is ready again, agent-8 logs in; both open intervals run to `until`.
    later = {s.agent: s for s in kpi.agents(at(150), at(200))}
    assert sorted(later) == ["agent-1", "agent-2", "agent-4", "agent-8"]
    assert later["agent-1"].logged_in_seconds == 50 * 60  # the call open since 110 min
    assert later["agent-1"].occupancy == 1.0
    assert later["agent-2"].logged_in_seconds == 20 * 60  # logged out until 180 min
    assert later["agent-8"].logged_in_seconds == 50 * 60
    assert later["agent-8"].occupancy == 0.0
    assert kpi.agents(at(-500), at(-400)) == []
    assert kpi.agents(UNTIL, SINCE) == []  # an empty window


def test_agents_from_stored_overlapping_intervals(sessions: sessionmaker[Session]) -> None:
    """Rows as a crash or old data may leave them: overlapping, an open one from long ago."""
    rows = [
        {"agent": "x", "state": "in_call", "started_at": at(0), "ended_at": at(30)},
        {"agent": "x", "state": "paused", "started_at": at(10), "ended_at": at(30)},
        {"agent": "x", "state": "unavailable", "started_at": at(-600), "ended_at": None},
        {"agent": "y", "state": "ready", "started_at": at(-10), "ended_at": at(0)},  # before
        {"agent": "z", "state": "ready", "started_at": at(60), "ended_at": None},  # after
    ]
    with sessions() as session, session.begin():
        session.execute(insert(AgentActivityRecord), rows)
    [x] = KpiRepository(sessions).agents(SINCE, at(60))
    # in call 30 min + paused 20 + unavailable 60 (open, clipped to both edges)
    assert (x.logged_in_seconds, x.not_ready_seconds) == (6600.0, 1200.0)
    # available: 110 min logged in - 20 paused - 60 unavailable = 30, all in a call
    assert x.occupancy == 1.0


def test_answered_calls_are_searched_in_the_answered_at_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        write_events(sessions, CALLS)
        with journal_query_plans(engine) as plans:
            KpiRepository(sessions).agents(SINCE, UNTIL)
    finally:
        engine.dispose()
    [plan] = plans
    assert (
        "SEARCH call_journal USING INDEX ix_call_journal_answered_at"
        " (answered_at>? AND answered_at<?)" in plan
    ), plan


def test_occupancy_is_capped_and_none_without_available_time() -> None:
    assert occupancy(1200.0, 3600.0, 1200.0) == 0.5
    assert occupancy(1300.0, 1500.0, 300.0) == 1.0  # overlapping data: capped
    assert occupancy(0.0, 600.0, 600.0) is None
    assert occupancy(0.0, 0.0, 0.0) is None


def test_clipped_seconds() -> None:
    seconds = clipped_seconds(
        [
            ("a", "ready", at(-5), at(5)),  # 5 min inside
            ("a", "ready", at(5), None),  # open: to `until`, 10 min
            ("a", "paused", at(15), at(20)),  # after the window
            ("b", "in_call", at(1), at(1)),  # zero length
        ],
        SINCE,
        at(15),
    )
    assert seconds == {"a": {"ready": 900.0, "paused": 0.0}, "b": {"in_call": 0.0}}


def test_callback_counts(sessions: sessionmaker[Session]) -> None:
    repository = KpiRepository(sessions)
    assert repository.callback_counts() == {"open": 0, "dialling": 0, "done": 0, "failed": 0}
    statuses = ["open", "open", "done", "dialling", "open", "failed", "done", "open"]
    rows = [
        {"created_at": at(n), "phone": "380441234567", "status": s} for n, s in enumerate(statuses)
    ]
    with sessions() as session, session.begin():
        session.execute(insert(CallbackRequestRecord), rows)
    assert repository.callback_counts() == {"open": 4, "dialling": 1, "done": 2, "failed": 1}

"""The agent log on both backends: activity intervals and rings, written off the call path."""

import dataclasses
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import AgentChanged, AgentRang, CallEnded, CallStarted
from ivr.storage.agent_log import AgentEvent, AgentLog, write_agent_events
from ivr.storage.models import AgentActivityRecord, AgentRingRecord
from ivr.tasks import TaskSet

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FAST_RETRY = dataclasses.replace(AgentLog.TUNING, retry_initial=0.01, retry_max=0.05)

Interval = tuple[str, str, str | None, datetime, datetime | None]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def changed(agent: str, state: str, minutes: float, reason: str = "") -> AgentChanged:
    return AgentChanged(agent, "internet", state, reason, at=at(minutes))


def intervals(sessions: sessionmaker[Session]) -> list[Interval]:
    """(agent, state, reason, started_at, ended_at) by agent, then time."""
    a = AgentActivityRecord
    query = select(a.agent, a.state, a.reason, a.started_at, a.ended_at).order_by(
        a.agent, a.started_at, a.id
    )
    with sessions() as session:
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


@pytest.fixture
async def agent_log(sessions: sessionmaker[Session]) -> AsyncIterator[AgentLog]:
    log = AgentLog(sessions, FAST_RETRY)
    tasks = TaskSet("test-agent-log")
    tasks.spawn(log.run(), name="agent log")
    yield log
    await log.stop(timeout=5)
    await tasks.cancel_all()


# Two agents, interleaved: anna works a call and goes to lunch (still there); bohdan logs in
# paused, becomes ready and logs out.
DAY: list[AgentEvent] = [
    changed("anna", "ready", 0),
    changed("bohdan", "paused", 1, "training"),
    changed("anna", "ringing", 1),
    changed("anna", "in_call", 1.25),
    changed("bohdan", "ready", 30),
    changed("anna", "ready", 10),
    changed("anna", "paused", 60, "lunch"),
    changed("bohdan", "logged_out", 90),
]
EXPECTED: list[Interval] = [
    ("anna", "ready", None, at(0), at(1)),
    ("anna", "ringing", None, at(1), at(1.25)),
    ("anna", "in_call", None, at(1.25), at(10)),
    ("anna", "ready", None, at(10), at(60)),
    ("anna", "paused", "lunch", at(60), None),
    ("bohdan", "paused", "training", at(1), at(30)),
    ("bohdan", "ready", None, at(30), at(90)),
    ("bohdan", "logged_out", None, at(90), None),
]


def write_in_batches(
    sessions: sessionmaker[Session], events: Sequence[AgentEvent], rng: random.Random
) -> None:
    n = 0
    while n < len(events):
        size = rng.randint(1, len(events) - n)
        write_agent_events(sessions, events[n : n + size])
        n += size


async def test_changes_become_intervals_and_other_events_are_ignored(
    agent_log: AgentLog, sessions: sessionmaker[Session]
) -> None:
    agent_log(CallStarted("x", "5551000", "1", "PJSIP/x"))
    agent_log(CallEnded("x", "Normal Clearing"))
    assert agent_log.pending == 0  # not agent events: never queued

    for event in DAY:
        agent_log(event)
    assert agent_log.pending == len(DAY)
    await agent_log.flush()
    assert agent_log.pending == 0
    assert intervals(sessions) == EXPECTED


@pytest.mark.parametrize("seed", range(6))
def test_intervals_do_not_depend_on_batching(sessions: sessionmaker[Session], seed: int) -> None:
    rng = random.Random(seed)
    if seed == 0:
        for event in DAY:  # one event per transaction: every change ends a stored row
            write_agent_events(sessions, [event])
    else:
        write_in_batches(sessions, DAY, rng)
    assert intervals(sessions) == EXPECTED


def test_a_late_change_ends_the_open_interval_without_going_back(
    sessions: sessionmaker[Session],
) -> None:
    write_agent_events(sessions, [changed("anna", "ready", 10)])
    # Older than the open interval (out of order): it still ends it, at its own start.
    write_agent_events(sessions, [changed("anna", "in_call", 5)])
    # The same within one batch.
    write_agent_events(sessions, [changed("bohdan", "ready", 10), changed("bohdan", "paused", 4)])
    assert intervals(sessions) == [
        ("anna", "ready", None, at(10), at(10)),
        ("anna", "in_call", None, at(10), None),
        ("bohdan", "ready", None, at(10), at(10)),
        ("bohdan", "paused", None, at(10), None),
    ]


def test_every_stored_open_interval_of_the_agent_is_ended(
    sessions: sessionmaker[Session],
) -> None:
    """Two open rows for one agent (a crash between runs without close_open): both end."""
    rows = [
        {"agent": "anna", "state": "ready", "started_at": at(0)},
        {"agent": "anna", "state": "in_call", "started_at": at(3)},
        {"agent": "bohdan", "state": "ready", "started_at": at(0), "ended_at": at(2)},
    ]
    with sessions() as session, session.begin():
        session.execute(insert(AgentActivityRecord), rows)
    write_agent_events(sessions, [changed("anna", "paused", 5, "break")])
    assert intervals(sessions) == [
        ("anna", "ready", None, at(0), at(5)),
        ("anna", "in_call", None, at(3), at(5)),
        ("anna", "paused", "break", at(5), None),
        ("bohdan", "ready", None, at(0), at(2)),  # already ended: untouched
    ]


def test_close_open_ends_every_open_interval(sessions: sessionmaker[Session]) -> None:
    log = AgentLog(sessions)
    assert log.close_open(at(0)) == 0  # nothing stored yet
    write_agent_events(
        sessions,
        [
            changed("anna", "ready", 0),
            changed("anna", "in_call", 5),
            changed("bohdan", "paused", 2, "lunch"),
            changed("clara", "ready", 30),  # its clock ran ahead of the restart
        ],
    )
    assert log.close_open(at(20)) == 3
    assert log.close_open(at(25)) == 0  # nothing open any more
    assert intervals(sessions) == [
        ("anna", "ready", None, at(0), at(5)),
        ("anna", "in_call", None, at(5), at(20)),
        ("bohdan", "paused", "lunch", at(2), at(20)),
        ("clara", "ready", None, at(30), at(30)),  # never negative
    ]
    # After the restart the next change opens a fresh interval.
    write_agent_events(sessions, [changed("anna", "ready", 21)])
    assert intervals(sessions)[2] == ("anna", "ready", None, at(21), None)


async def test_rings_are_recorded(agent_log: AgentLog, sessions: sessionmaker[Session]) -> None:
    agent_log(AgentRang("anna", "internet", "1700000000.1", 12.5, True, at=at(1)))
    agent_log(AgentRang("anna", "senior", "1700000000.2", 15.0, False, at=at(2)))
    agent_log(AgentRang("", "internet", "1700000000.3", 3.0, False, at=at(3)))  # no agent
    agent_log(changed("anna", "in_call", 1))
    await agent_log.flush()

    r = AgentRingRecord
    query = select(r.at, r.agent, r.queue, r.call_id, r.ring_seconds, r.answered).order_by(r.at)
    with sessions() as session:
        rows = [tuple(row) for row in session.execute(query)]
    assert rows == [
        (at(1), "anna", "internet", "1700000000.1", 12.5, True),
        (at(2), "anna", "senior", "1700000000.2", 15.0, False),
    ]
    assert intervals(sessions) == [("anna", "in_call", None, at(1), None)]


def test_text_is_cleaned_and_times_stored_in_utc(sessions: sessionmaker[Session]) -> None:
    kyiv = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    write_agent_events(
        sessions,
        [
            AgentChanged("олена", "q", "paused", "обід\x00 🍲", at=kyiv),
            AgentChanged("\x00", "q", "ready", "", at=kyiv),  # no agent: ignored
        ],
    )
    [(agent, state, reason, started_at, ended_at)] = intervals(sessions)
    assert (agent, state, reason, ended_at) == ("олена", "paused", "обід 🍲", None)
    assert started_at == T0 and started_at.utcoffset() == timedelta(0)

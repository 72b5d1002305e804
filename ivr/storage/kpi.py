"""Agent KPIs over a time window, and the callback work queue by status.

For each agent, from three sources:
- the call journal: calls answered in the window (answered_at in [since, until)), the sum
  and mean of their talk time (mean over completed calls: None while none has ended);
- agent_rings (written by ivr.storage.agent_log): rings in the window, their ring time
  and how many were not answered;
- agent_activity: time logged in (any state but logged_out), not ready (paused) and in a
  call, from the intervals clipped to the window; an open interval (the agent's current
  state) ends at `until`.

occupancy = in_call / (logged_in - not_ready - unavailable): the share of the time an
agent was available for calls that was spent in calls (a phone app_queue reports
unavailable cannot take calls); None when that time is 0, at most 1.0.

Counts and sums are computed in SQL (GROUP BY), the same on SQLite and PostgreSQL. The
activity intervals meeting the window are read and clipped here: datetime arithmetic
differs between the backends (SQLite's julianday has millisecond resolution), Python's is
exact. Blocking: call it from a thread (asyncio.to_thread) in async code. Times are aware;
`since` is inclusive, `until` exclusive.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from ivr.storage.batch import as_utc
from ivr.storage.callbacks import STATUSES
from ivr.storage.models import (
    AgentActivityRecord,
    AgentRingRecord,
    CallbackRequestRecord,
    CallRecord,
)

SessionFactory = Callable[[], Session]

IN_CALL = "in_call"
NOT_READY = "paused"
LOGGED_OUT = "logged_out"
UNAVAILABLE = "unavailable"

_a, _r, _c = AgentActivityRecord, AgentRingRecord, CallRecord


@dataclass(frozen=True)
class AgentStats:
    agent: str
    answered: int  # calls answered in the window (journal answered_at)
    talk_seconds: float  # sum of journal talk_seconds of those calls
    average_talk: float | None  # mean talk_seconds of those that ended; None if none
    logged_in_seconds: float  # time in any state but logged_out
    not_ready_seconds: float  # time paused
    ringing_seconds: float  # sum of agent_rings.ring_seconds
    rings: int
    missed_rings: int  # rings not answered
    occupancy: float | None  # in_call / (logged_in - not_ready - unavailable); None if 0


@dataclass(frozen=True)
class _Calls:
    answered: int = 0
    talk_seconds: float = 0.0
    average_talk: float | None = None


@dataclass(frozen=True)
class _Rings:
    rings: int = 0
    ringing_seconds: float = 0.0
    missed: int = 0


def clipped_seconds(
    intervals: Iterable[tuple[str, str, datetime, datetime | None]],
    since: datetime,
    until: datetime,
) -> dict[str, dict[str, float]]:
    """Seconds per agent and state of (agent, state, started_at, ended_at) intervals
    within [since, until); an open interval (ended_at None) ends at `until`."""
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for agent, state, started_at, ended_at in intervals:
        start = max(started_at, since)
        end = until if ended_at is None else min(ended_at, until)
        seconds[agent][state] += max(0.0, (end - start).total_seconds())
    return seconds


def occupancy(in_call: float, logged_in: float, not_ready: float) -> float | None:
    available = logged_in - not_ready
    return min(1.0, in_call / available) if available > 0 else None


def _stats(agent: str, calls: _Calls, rings: _Rings, states: Mapping[str, float]) -> AgentStats:
    logged_in = sum(s for state, s in states.items() if state != LOGGED_OUT)
    not_ready = states.get(NOT_READY, 0.0)
    return AgentStats(
        agent=agent,
        answered=calls.answered,
        talk_seconds=calls.talk_seconds,
        average_talk=calls.average_talk,
        logged_in_seconds=logged_in,
        not_ready_seconds=not_ready,
        ringing_seconds=rings.ringing_seconds,
        rings=rings.rings,
        missed_rings=rings.missed,
        occupancy=occupancy(
            states.get(IN_CALL, 0.0), logged_in, not_ready + states.get(UNAVAILABLE, 0.0)
        ),
    )


class KpiRepository:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def agents(self, since: datetime, until: datetime) -> list[AgentStats]:
        """One entry per agent found in any source for the window, by agent id."""
        since, until = as_utc(since), as_utc(until)
        if until <= since:
            return []
        with self._session_factory() as session:
            calls = {
                agent: _Calls(int(n), float(talk), None if mean is None else float(mean))
                for agent, n, talk, mean in session.execute(_answered_query(since, until))
            }
            rings = {
                agent: _Rings(int(n), float(ringing), int(missed))
                for agent, n, ringing, missed in session.execute(_rings_query(since, until))
            }
            intervals = session.execute(_activity_query(since, until)).all()
        states = clipped_seconds(intervals, since, until)
        return [
            _stats(
                agent, calls.get(agent, _Calls()), rings.get(agent, _Rings()), states.get(agent, {})
            )
            for agent in sorted(calls.keys() | rings.keys() | states.keys())
        ]

    def callback_counts(self) -> dict[str, int]:
        """Callback requests by status: open, dialling, done, failed (all present)."""
        query = select(CallbackRequestRecord.status, func.count()).group_by(
            CallbackRequestRecord.status
        )
        counts = dict.fromkeys(STATUSES, 0)
        with self._session_factory() as session:
            for status, n in session.execute(query):
                if status in counts:
                    counts[status] = int(n)
        return counts


def _answered_query(since: datetime, until: datetime) -> Select[Any]:
    return (
        select(
            _c.agent,
            func.count(),
            func.coalesce(func.sum(_c.talk_seconds), 0.0),
            func.avg(_c.talk_seconds),
        )
        .where(_c.agent.is_not(None), _c.answered_at >= since, _c.answered_at < until)
        .group_by(_c.agent)
    )


def _rings_query(since: datetime, until: datetime) -> Select[Any]:
    return (
        select(
            _r.agent,
            func.count(),
            func.coalesce(func.sum(_r.ring_seconds), 0.0),
            func.coalesce(func.sum(case((_r.answered.is_(False), 1), else_=0)), 0),
        )
        .where(_r.at >= since, _r.at < until)
        .group_by(_r.agent)
    )


def _activity_query(
    since: datetime, until: datetime
) -> Select[str, str, datetime, datetime | None]:
    """The intervals meeting [since, until)."""
    return select(_a.agent, _a.state, _a.started_at, _a.ended_at).where(
        _a.started_at < until, or_(_a.ended_at.is_(None), _a.ended_at > since)
    )

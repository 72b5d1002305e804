"""Staffing per hour: the calls each queue was offered and their talk time (the journal),
and how many agents were logged in (the agent activity log).

Calls are the service level's offered calls (answered or abandoned), in the hour the call
started (ivr.storage.service_level CALL_TIME). Logged in is any state but logged_out;
per hour, the average (agent-seconds logged in / the hour's seconds) and the most agents
logged in at once. An agent's activity rows never overlap (ivr.storage.agent_log), so
counting rows counts agents. Hours are those of `service_level.by_hour`: local, stepped
in UTC, the first and last cut to the window. Blocking: call it from a thread.
"""

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.batch import as_utc
from ivr.storage.kpi import LOGGED_OUT
from ivr.storage.models import AgentActivityRecord, CallRecord
from ivr.storage.service_level import CALL_TIME, HOUR, hour_key, hour_starts, offered_calls

SessionFactory = Callable[[], Session]
Interval = tuple[datetime, datetime | None]  # started_at, ended_at (None: still open)

_a, _c = AgentActivityRecord, CallRecord


@dataclass
class QueueCalls:
    """One queue's calls in one hour."""

    offered: int = 0  # answered + abandoned
    answered: int = 0
    talked: int = 0  # answered calls whose talk time is known (they ended)
    talk_seconds: float = 0.0  # the sum of those talk times


@dataclass
class StaffingHour:
    key: str  # the local start of the hour, "YYYY-MM-DDTHH:00"
    start: datetime  # UTC, both cut to the window
    end: datetime
    queues: dict[str, QueueCalls] = field(default_factory=dict)  # "" = queue not known
    logged_in_average: float = 0.0
    logged_in_max: int = 0

    @property
    def seconds(self) -> float:
        """The hour's length within the window."""
        return (self.end - self.start).total_seconds()


def window_hours(since: datetime, until: datetime, tz: tzinfo) -> list[StaffingHour]:
    starts = hour_starts(since, until, tz)
    return [
        StaffingHour(hour_key(start, tz), max(start, since), min(start + HOUR, until))
        for start in starts
    ]


def add_logged_in(hours: Sequence[StaffingHour], intervals: Iterable[Interval]) -> None:
    """Set each hour's logged-in average and maximum from logged-in intervals (an open
    one lasts to the end of the window)."""
    if not hours:
        return
    first, until = hours[0].start, hours[-1].end
    seconds = [0.0] * len(hours)
    edges: list[tuple[datetime, int]] = []
    for started_at, ended_at in intervals:
        start, end = max(started_at, first), min(ended_at or until, until)
        if end <= start:
            continue
        edges += [(start, 1), (end, -1)]
        for n in range(_index(hours, start), _index(hours, end - _TICK) + 1):
            hour = hours[n]
            seconds[n] += (min(end, hour.end) - max(start, hour.start)).total_seconds()
    for hour, total in zip(hours, seconds, strict=True):
        hour.logged_in_average = total / hour.seconds if hour.seconds else 0.0
    _add_maxima(hours, sorted(edges, key=lambda edge: (edge[0], edge[1])))


_TICK = timedelta(microseconds=1)  # the last instant of an interval


def _index(hours: Sequence[StaffingHour], at: datetime) -> int:
    """The hour holding `at` (hours after the first are whole but for the last)."""
    if at < hours[0].end:
        return 0
    return min(len(hours) - 1, 1 + int((at - hours[1].start) // HOUR))


def _add_maxima(hours: Sequence[StaffingHour], edges: Sequence[tuple[datetime, int]]) -> None:
    """The most agents logged in at once per hour: the count the hour starts with, raised
    by each login in it (logouts at an instant are counted before logins at it)."""
    current, n = 0, 0
    for hour in hours:
        while n < len(edges) and edges[n][0] <= hour.start:
            current += edges[n][1]
            n += 1
        hour.logged_in_max = current
        while n < len(edges) and edges[n][0] < hour.end:
            current += edges[n][1]
            n += 1
            hour.logged_in_max = max(hour.logged_in_max, current)


class StaffingRepository:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def hours(
        self,
        since: datetime,
        until: datetime,
        tz: tzinfo,
        queue: str | None = None,
        agents: Collection[str] | None = None,
    ) -> list[StaffingHour]:
        """Every hour of [since, until): its calls per queue (only `queue`'s if given)
        and its agents logged in (only `agents` if given)."""
        since, until = as_utc(since), as_utc(until)
        hours = window_hours(since, until, tz)
        if not hours:
            return []
        columns = select(CALL_TIME, _c.queue, _c.answered_at, _c.talk_seconds)
        calls = offered_calls(columns, since, until)
        activity = select(_a.started_at, _a.ended_at).where(
            _a.state != LOGGED_OUT,
            _a.started_at < until,
            (_a.ended_at.is_(None)) | (_a.ended_at > since),
        )
        if queue is not None:
            calls = calls.where(_c.queue == queue)
        if agents is not None:
            activity = activity.where(_a.agent.in_(list(agents)))
        with self._session_factory() as session:
            for at, name, answered_at, talk in session.execute(calls):
                counted = hours[_index(hours, as_utc(at))].queues.setdefault(
                    name or "", QueueCalls()
                )
                counted.offered += 1
                if answered_at is not None:
                    counted.answered += 1
                    if talk is not None:
                        counted.talked += 1
                        counted.talk_seconds += float(talk)
            intervals = [(s, e) for s, e in session.execute(activity)]
        add_logged_in(hours, intervals)
        return hours

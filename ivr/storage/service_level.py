"""Service level per queue, per line and overall, from the call journal.

Only calls that reached a queue and finished waiting there count: answered or abandoned
(`offered` = answered + abandoned). A caller still waiting, or one who left the queue
otherwise (a callback accepted, the line closed), is not offered yet.

The service level is the industry form that does not hold early hang-ups against the
queue:

    share = within_target / (answered + abandoned_after_target)

- within_target: answered with target_met true (within the queue's answer target);
- abandoned_after_target: abandoned after the target was missed (target_met false: the
  monitor reported AnswerTargetMissed before the caller hung up). A caller who hangs up
  before the target counts neither for nor against the service level;
- share is None when its denominator is 0 (no answered call, no late abandonment).

average_wait is the mean wait of answered calls (seconds from the first queue join),
average_talk the mean talk time of completed calls; None when there is none.
over_guideline counts calls that went over the talk guideline.

A call belongs to the queue it was answered in or abandoned from (after an overflow, not
the first queue) and to the line (the number dialled) it came in on; "" when not known.
`since` (inclusive) and `until` (exclusive) filter on when the call started: started_at,
or queued_at for a call whose start was not recorded (then answered_at or abandoned_at).
The counts are computed in SQL (GROUP BY), the same on SQLite and PostgreSQL; by hour,
the same measures are read per call and added up in Python (see `by_hour`).
`abandon_rate` is abandoned / offered (early hang-ups included), None when nothing was
offered.

Blocking: call it from a thread (asyncio.to_thread) in async code.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ivr.storage.batch import as_utc
from ivr.storage.models import CallRecord

SessionFactory = Callable[[], Session]
Columns = TypeVarTuple("Columns")
OVERALL = "all"

_c = CallRecord
_answered = _c.answered_at.is_not(None)
_abandoned = _c.abandoned_at.is_not(None)
# When a call happened. Exactly the expression of the index ix_call_journal_call_time
# (CallRecord, migration 0005): the planners use it only for a query that repeats it.
CALL_TIME = func.coalesce(_c.started_at, _c.queued_at, _c.answered_at, _c.abandoned_at)


@dataclass(frozen=True)
class ServiceLevel:
    key: str  # queue name or line ("all" overall; "" not known)
    offered: int  # calls that reached a queue and finished waiting: answered + abandoned
    answered: int
    within_target: int  # answered with target_met true
    abandoned: int
    abandoned_after_target: int
    share: float | None  # within_target / (answered + abandoned_after_target); None if 0
    average_wait: float | None  # mean wait_seconds of answered calls
    average_talk: float | None  # mean talk_seconds of completed calls
    over_guideline: int

    @property
    def abandon_rate(self) -> float | None:
        """abandoned / offered; None when nothing was offered."""
        return self.abandoned / self.offered if self.offered else None


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


# Per call, in the order `_level` takes them; summed, except the two means (averaged).
_PER_CALL: tuple[ColumnElement[Any], ...] = (
    _flag(_answered),
    _flag(_answered & _c.target_met.is_(True)),
    _flag(_abandoned & ~_answered),
    _flag(_abandoned & ~_answered & _c.target_met.is_(False)),
    case((_answered, _c.wait_seconds)),
    case((_answered, _c.talk_seconds)),
    _flag(_c.over_guideline.is_(True)),
)
_AVERAGED = frozenset({4, 5})
_MEASURES = tuple(
    func.avg(x) if n in _AVERAGED else func.coalesce(func.sum(x), 0)
    for n, x in enumerate(_PER_CALL)
)


def _level(key: str, measures: Sequence[Any]) -> ServiceLevel:
    answered, within, abandoned, late, wait, talk, over = measures
    answered, within, abandoned, late = int(answered), int(within), int(abandoned), int(late)
    counted = answered + late
    return ServiceLevel(
        key=key,
        offered=answered + abandoned,
        answered=answered,
        within_target=within,
        abandoned=abandoned,
        abandoned_after_target=late,
        share=within / counted if counted else None,
        average_wait=float(wait) if wait is not None else None,
        average_talk=float(talk) if talk is not None else None,
        over_guideline=int(over),
    )


class ServiceLevelRepository:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def by_queue(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[ServiceLevel]:
        """One entry per queue with offered calls, by queue name."""
        return self._grouped(_c.queue, since, until)

    def by_line(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[ServiceLevel]:
        """One entry per line (number dialled) with offered calls, by line."""
        return self._grouped(_c.line, since, until)

    def overall(self, since: datetime | None = None, until: datetime | None = None) -> ServiceLevel:
        """Every offered call (key "all"); zeros and None when there is none."""
        query = offered_calls(select(*_MEASURES), since, until)
        with self._session_factory() as session:
            measures = session.execute(query).one()
        return _level(OVERALL, tuple(measures))

    def by_hour(self, since: datetime, until: datetime, tz: tzinfo = UTC) -> list[ServiceLevel]:
        """One entry per hour of [since, until) in `tz`, in time order, every hour present
        (zeros and None when no call). The key is the local start of the hour,
        "YYYY-MM-DDTHH:00": a 23-hour day (summer time begins) skips an hour, a 25-hour
        day lists the repeated hour twice. The first and last hours are cut to the window.

        Hours are stepped in UTC from the local start of the hour holding `since`, so a
        change of offset never shifts or merges them. One query reads the measures of each
        call in the window; they are added up per hour here (date functions differ between
        the backends)."""
        hours = hour_starts(as_utc(since), as_utc(until), tz)
        if not hours:
            return []
        query = offered_calls(select(CALL_TIME, *_PER_CALL), since, until)
        totals = [_Totals() for _ in hours]
        with self._session_factory() as session:
            for at, *measures in session.execute(query):
                totals[int((at - hours[0]) // HOUR)].add(measures)
        return [
            _level(hour_key(start, tz), total.measures())
            for start, total in zip(hours, totals, strict=True)
        ]

    def _grouped(
        self, key: InstrumentedAttribute[str | None], since: datetime | None, until: datetime | None
    ) -> list[ServiceLevel]:
        query = offered_calls(select(key, *_MEASURES), since, until).group_by(key)
        with self._session_factory() as session:
            rows = session.execute(query).all()
        levels = [_level(row[0] or "", tuple(row[1:])) for row in rows]
        # Sorted here: the backends disagree on where NULL (not known) sorts.
        return sorted(levels, key=lambda level: level.key)


def offered_calls(
    query: Select[*Columns], since: datetime | None, until: datetime | None
) -> Select[*Columns]:
    """`query` narrowed to the offered calls (answered or abandoned) of [since, until)."""
    query = query.where(or_(_answered, _abandoned))
    if since is not None:
        query = query.where(CALL_TIME >= since)
    if until is not None:
        query = query.where(CALL_TIME < until)
    return query


HOUR = timedelta(hours=1)


def hour_starts(since: datetime, until: datetime, tz: tzinfo) -> list[datetime]:
    """The UTC starts of the local hours meeting [since, until)."""
    if until <= since:
        return []
    local = since.astimezone(tz)
    start = since - timedelta(
        minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    count = -((start - until) // HOUR)  # whole hours, rounded up
    return [start + n * HOUR for n in range(count)]


def hour_key(start: datetime, tz: tzinfo) -> str:
    return start.astimezone(tz).strftime("%Y-%m-%dT%H:00")


class _Totals:
    """Adds up per-call measures (`_PER_CALL`) the way `_MEASURES` does in SQL."""

    def __init__(self) -> None:
        self._sums = [0.0] * len(_PER_CALL)
        self._counts = [0] * len(_PER_CALL)

    def add(self, measures: Sequence[Any]) -> None:
        for n, value in enumerate(measures):
            if value is not None:
                self._sums[n] += value
                self._counts[n] += 1

    def measures(self) -> list[Any]:
        return [
            (self._sums[n] / self._counts[n] if self._counts[n] else None)
            if n in _AVERAGED
            else self._sums[n]
            for n in range(len(_PER_CALL))
        ]

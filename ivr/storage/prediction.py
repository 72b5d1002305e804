"""What the wait prediction reads from the call journal and how good it was, per queue.

- `handle_times`: each queue's mean talk time over the calls answered in a recent window
  (the predictor adds the queue's wrap-up), with how many calls it averages.
- `quality`: predicted against actual wait, per queue and overall, over the calls that had
  a prediction (nobody on duty: none) and finished waiting (answered or abandoned); the
  mean absolute error, the mean signed error (positive: callers waited longer than told)
  and the share within `tolerance` seconds. A call belongs to the queue it was answered
  in or abandoned from, as in ivr.storage.service_level, and its window is the same.

Blocking: call it from a thread (asyncio.to_thread) in async code.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ivr.storage.models import CallRecord
from ivr.storage.service_level import CALL_TIME, OVERALL

SessionFactory = Callable[[], Session]
TOLERANCE = 30.0  # s: a prediction this close to the real wait counts as good

_c = CallRecord


@dataclass(frozen=True)
class HandleTime:
    queue: str
    seconds: float  # mean talk time
    calls: int


@dataclass(frozen=True)
class PredictionQuality:
    key: str  # queue name, "all" overall
    calls: int  # calls with a prediction that finished waiting
    mean_absolute_error: float | None  # s; None without calls
    mean_error: float | None  # s, actual - predicted: > 0 waited longer than predicted
    within: int  # calls with |actual - predicted| <= tolerance
    tolerance: float

    @property
    def share_within(self) -> float | None:
        return self.within / self.calls if self.calls else None


def quality_of(
    key: str, pairs: Sequence[tuple[float, float]], tolerance: float = TOLERANCE
) -> PredictionQuality:
    """The quality of (predicted, actual) wait pairs."""
    errors = [actual - predicted for predicted, actual in pairs]
    n = len(errors)
    return PredictionQuality(
        key=key,
        calls=n,
        mean_absolute_error=sum(abs(e) for e in errors) / n if n else None,
        mean_error=sum(errors) / n if n else None,
        within=sum(1 for e in errors if abs(e) <= tolerance),
        tolerance=tolerance,
    )


class PredictionRepository:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def handle_times(self, since: datetime, until: datetime) -> list[HandleTime]:
        """Per queue, the mean talk time of the calls answered in [since, until) that
        ended (talk time known)."""
        query = (
            select(_c.queue, func.avg(_c.talk_seconds), func.count())
            .where(_c.answered_at >= since, _c.answered_at < until)
            .where(_c.talk_seconds.is_not(None), _c.queue.is_not(None))
            .group_by(_c.queue)
        )
        with self._session_factory() as session:
            rows = session.execute(query).all()
        return [HandleTime(queue, float(mean), int(n)) for queue, mean, n in rows]

    def quality(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        tolerance: float = TOLERANCE,
    ) -> tuple[list[PredictionQuality], PredictionQuality]:
        """Per queue (by name; only queues with such calls) and overall."""
        query = select(_c.queue, _c.predicted_wait_seconds, _c.wait_seconds).where(
            _c.predicted_wait_seconds.is_not(None),
            _c.wait_seconds.is_not(None),
            or_(_c.answered_at.is_not(None), _c.abandoned_at.is_not(None)),
        )
        if since is not None:
            query = query.where(CALL_TIME >= since)
        if until is not None:
            query = query.where(CALL_TIME < until)
        with self._session_factory() as session:
            rows = session.execute(query).all()
        pairs = [(q or "", float(p or 0.0), float(w or 0.0)) for q, p, w in rows]  # not NULL
        return _grouped(pairs, tolerance)


def _grouped(
    rows: Iterable[tuple[str, float, float]], tolerance: float
) -> tuple[list[PredictionQuality], PredictionQuality]:
    by_queue: dict[str, list[tuple[float, float]]] = {}
    for queue, predicted, actual in rows:
        by_queue.setdefault(queue, []).append((predicted, actual))
    queues = [quality_of(q, pairs, tolerance) for q, pairs in sorted(by_queue.items())]
    every = [pair for pairs in by_queue.values() for pair in pairs]
    return queues, quality_of(OVERALL, every, tolerance)

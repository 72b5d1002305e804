"""The wait prediction's journal queries on both backends: handle times per queue, and the
predicted against the actual wait, against numbers worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallQueued,
    CallStarted,
    WaitPredicted,
)
from ivr.storage.journal import JournalEvent, write_events
from ivr.storage.prediction import HandleTime, PredictionRepository, quality_of

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call(
    call_id: str,
    queue: str,
    start: float,
    predicted: float | None,
    wait: float,
    talk: float | None = None,
    answered: bool = True,
) -> list[JournalEvent]:
    events: list[JournalEvent] = [
        CallStarted(call_id, "5551000", "+380441234567", "PJSIP/trunk-1", at=at(start)),
        CallQueued(call_id, queue, 1, at=at(start + 5)),
        WaitPredicted(call_id, queue, 1, 0, 1, 60.0, predicted, 20.0, at=at(start + 5)),
    ]
    if answered:
        events.append(
            CallAnswered(call_id, queue, "1001", "PJSIP/1001-1", wait, False, at(start + 5 + wait))
        )
    else:
        events.append(CallAbandoned(call_id, queue, wait, at=at(start + 5 + wait)))
    if talk is not None:
        events.append(CallCompleted(call_id, queue, "1001", talk, "caller", at(start + 99)))
    return events


@pytest.fixture
def repo(sessions: sessionmaker[Session]) -> PredictionRepository:
    write_events(
        sessions,
        [
            *call("a1", "internet", 0, 60.0, 50.0, talk=100.0),  # error -10
            *call("a2", "internet", 100, 20.0, 80.0, talk=200.0),  # error +60
            *call("a3", "internet", 200, None, 30.0, talk=300.0),  # nobody on duty: no prediction
            *call("t1", "tv", 300, 10.0, 15.0, answered=False),  # abandoned, error +5
            *call("t2", "tv", 400, 0.0, 2.0, talk=40.0),  # error +2
            *call("late", "tv", 7200, 5.0, 500.0, talk=1000.0),  # outside the window below
        ],
    )
    return PredictionRepository(sessions)


def test_quality_per_queue_and_overall(repo: PredictionRepository) -> None:
    queues, overall = repo.quality(T0, at(3600), tolerance=30)
    assert [(q.key, q.calls, q.within) for q in queues] == [("internet", 2, 1), ("tv", 2, 2)]
    internet, tv = queues
    assert internet.mean_absolute_error == pytest.approx(35.0)
    assert internet.mean_error == pytest.approx(25.0)  # waited longer than told
    assert internet.share_within == pytest.approx(0.5)
    assert tv.mean_absolute_error == pytest.approx(3.5)
    assert (overall.key, overall.calls, overall.within) == ("all", 4, 3)
    assert overall.mean_absolute_error == pytest.approx((10 + 60 + 5 + 2) / 4)
    _, everything = repo.quality()
    assert everything.calls == 5


def test_an_empty_window_has_no_quality(repo: PredictionRepository) -> None:
    queues, overall = repo.quality(at(-3600), T0)
    assert queues == []
    assert (overall.calls, overall.mean_absolute_error, overall.share_within) == (0, None, None)


def test_handle_times_average_the_talk_of_calls_answered_in_the_window(
    repo: PredictionRepository,
) -> None:
    assert sorted(repo.handle_times(T0, at(3600)), key=lambda h: h.queue) == [
        HandleTime("internet", 200.0, 3),
        HandleTime("tv", 40.0, 1),  # the abandoned call has no talk
    ]
    assert repo.handle_times(at(7000), at(8000)) == [HandleTime("tv", 1000.0, 1)]


def test_quality_of_pairs() -> None:
    q = quality_of("x", [(10.0, 20.0), (30.0, 0.0)], tolerance=10)
    assert (q.calls, q.within, q.mean_absolute_error, q.mean_error) == (2, 1, 20.0, -10.0)

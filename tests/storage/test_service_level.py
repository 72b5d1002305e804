"""Service level per queue, per line and overall, on both backends, against numbers
worked out by hand."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallEscalated,
    CallFinishedInMenu,
    CallQueued,
    CallRouted,
    CallStarted,
    TalkLimitReached,
)
from ivr.storage.journal import JournalEvent, write_events
from ivr.storage.service_level import ServiceLevel, ServiceLevelRepository

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def routed(call_id: str, line: str, queue: str, start: float) -> list[JournalEvent]:
    return [
        CallStarted(call_id, line, "+380441234567", "PJSIP/trunk-1", at=at(start)),
        CallRouted(call_id, line, "+380441234567", queue, "existing", 5, (), at=at(start + 5)),
        CallQueued(call_id, queue, 1, at=at(start + 6)),
    ]


def answered(
    call_id: str,
    line: str,
    queue: str,
    wait: float,
    talk: float | None,
    met: bool,
    start: float = 0,
    over: bool = False,
) -> list[JournalEvent]:
    events = routed(call_id, line, queue, start)
    if not met:
        events.append(AnswerTargetMissed(call_id, queue, line, 30.0, at=at(start + 36)))
    events.append(CallAnswered(call_id, queue, "agent-1", "PJSIP/agent-1-1", wait, met))
    if over:
        events.append(TalkLimitReached(call_id, queue, "agent-1", "PJSIP/a", "guideline", 300))
    if talk is not None:
        events.append(CallCompleted(call_id, queue, "agent-1", talk, "caller"))
        events.append(CallEnded(call_id, "Normal Clearing"))
    return events


def abandoned(call_id: str, line: str, queue: str, wait: float, late: bool) -> list[JournalEvent]:
    events = routed(call_id, line, queue, 0)
    if late:
        events.append(AnswerTargetMissed(call_id, queue, line, 30.0, at=at(36)))
    events.append(CallAbandoned(call_id, queue, wait))
    events.append(CallEnded(call_id, "Normal Clearing"))
    return events


@pytest.fixture
def levels(sessions: sessionmaker[Session]) -> ServiceLevelRepository:
    d1: list[JournalEvent] = [  # no CallStarted recorded: counted by its queue join time
        CallRouted("d1", "5553000", "+380441234567", "tv", "new", 1, (), at=at(1)),
        CallQueued("d1", "tv", 1, at=at(2)),
        CallAbandoned("d1", "tv", 4.0),
    ]
    e1: list[JournalEvent] = [  # overflow from tv to internet, answered there late
        *routed("e1", "5552000", "tv", 0),
        AnswerTargetMissed("e1", "tv", "5552000", 30.0),
        CallEscalated("e1", "tv", "overflow", "to internet", 60.0),
        CallQueued("e1", "internet", 1, at=at(66)),
        CallAnswered("e1", "internet", "agent-2", "PJSIP/agent-2-1", 90.0, False),
        CallCompleted("e1", "internet", "agent-2", 30.0, "agent"),
    ]
    events: list[JournalEvent] = [
        *answered("a1", "5551000", "internet", 10.0, 100.0, met=True),
        *answered("a2", "5551000", "internet", 20.0, 400.0, met=True, over=True),
        *answered("a3", "5551000", "internet", 50.0, 60.0, met=False),
        *abandoned("b1", "5551000", "internet", 5.0, late=False),
        *abandoned("b2", "5551000", "internet", 70.0, late=True),
        *answered("c1", "5552000", "tv", 30.0, None, met=True),  # still talking
        *abandoned("c2", "5552000", "tv", 3.0, late=False),
        *d1,
        *e1,
        # Not offered: finished in the menu; still waiting in a queue.
        CallStarted("f1", "5551000", "+380441234567", "PJSIP/trunk-1", at=T0),
        CallFinishedInMenu("f1", "5551000", "+380441234567", ("main:3",)),
        *routed("g1", "5552000", "tv", 0),
        # A day earlier: outside [T0, ...).
        *answered("h1", "5551000", "internet", 2.0, 10.0, met=True, start=-86400),
    ]
    write_events(sessions, events[: len(events) // 2])  # batches split calls: no matter
    write_events(sessions, events[len(events) // 2 :])
    return ServiceLevelRepository(sessions)


SINCE = T0 - timedelta(minutes=1)


def rounded(*levels: ServiceLevel) -> list[ServiceLevel]:
    """Comparable: the averages and shares rounded (the databases divide, not Python)."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 9)

    return [
        dataclasses.replace(
            x, share=r(x.share), average_wait=r(x.average_wait), average_talk=r(x.average_talk)
        )
        for x in levels
    ]


def test_by_queue(levels: ServiceLevelRepository) -> None:
    assert rounded(*levels.by_queue(since=SINCE)) == rounded(
        ServiceLevel(
            key="internet",  # a1, a2, a3, e1 answered (e1 after the overflow); b1, b2
            offered=6,
            answered=4,
            within_target=2,
            abandoned=2,
            abandoned_after_target=1,
            share=2 / 5,  # b1 left before the target: not counted
            average_wait=(10 + 20 + 50 + 90) / 4,
            average_talk=(100 + 400 + 60 + 30) / 4,
            over_guideline=1,
        ),
        ServiceLevel(
            key="tv",  # c1 answered, c2 and d1 left early; g1 still waits
            offered=3,
            answered=1,
            within_target=1,
            abandoned=2,
            abandoned_after_target=0,
            share=1.0,
            average_wait=30.0,
            average_talk=None,  # c1 still talking
            over_guideline=0,
        ),
    )


def test_by_line(levels: ServiceLevelRepository) -> None:
    assert rounded(*levels.by_line(since=SINCE)) == rounded(
        ServiceLevel(
            key="5551000",
            offered=5,
            answered=3,
            within_target=2,
            abandoned=2,
            abandoned_after_target=1,
            share=2 / 4,
            average_wait=(10 + 20 + 50) / 3,
            average_talk=(100 + 400 + 60) / 3,
            over_guideline=1,
        ),
        ServiceLevel(
            key="5552000",
            offered=3,
            answered=2,
            within_target=1,
            abandoned=1,
            abandoned_after_target=0,
            share=1 / 2,
            average_wait=(30 + 90) / 2,
            average_talk=30.0,
            over_guideline=0,
        ),
        ServiceLevel(
            key="5553000",  # nobody answered, nobody left late: no service level
            offered=1,
            answered=0,
            within_target=0,
            abandoned=1,
            abandoned_after_target=0,
            share=None,
            average_wait=None,
            average_talk=None,
            over_guideline=0,
        ),
    )


def test_overall_and_time_window(levels: ServiceLevelRepository) -> None:
    assert rounded(levels.overall(since=SINCE)) == rounded(
        ServiceLevel(
            key="all",
            offered=9,
            answered=5,  # a1, a2, a3, c1, e1
            within_target=3,
            abandoned=4,  # b1, b2, c2, d1
            abandoned_after_target=1,
            share=3 / 6,
            average_wait=(10 + 20 + 50 + 30 + 90) / 5,
            average_talk=(100 + 400 + 60 + 30) / 4,
            over_guideline=1,
        )
    )
    everything = levels.overall()  # h1 too
    assert (everything.offered, everything.answered, everything.within_target) == (10, 6, 4)
    assert everything.share == pytest.approx(4 / 7)

    [earlier] = levels.by_queue(until=SINCE)
    assert (earlier.key, earlier.offered, earlier.share, earlier.average_wait) == (
        "internet",
        1,
        1.0,
        2.0,
    )
    # `since` inclusive, `until` exclusive: d1 counts from its queue join at T0 + 2 s.
    [d1_line] = [x for x in levels.by_line(since=at(2), until=at(3)) if x.key == "5553000"]
    assert d1_line.offered == 1
    assert [x.key for x in levels.by_line(since=at(2), until=at(3))] == ["5553000"]
    assert levels.by_line(since=at(1), until=at(2)) == []


def test_no_calls(sessions: sessionmaker[Session]) -> None:
    repository = ServiceLevelRepository(sessions)
    assert repository.by_queue() == []
    assert repository.by_line() == []
    assert repository.overall() == ServiceLevel("all", 0, 0, 0, 0, 0, None, None, None, 0)

"""Service level per queue, per line and overall, on both backends, against numbers
worked out by hand."""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
from ivr.storage.db import make_engine, make_session_factory, migrate
from ivr.storage.journal import JournalEvent, write_events
from ivr.storage.service_level import ServiceLevel, ServiceLevelRepository
from tests.storage.query_plans import journal_query_plans

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


@pytest.mark.parametrize(
    "query",
    [
        lambda x: x.overall(SINCE, at(3600)),
        lambda x: x.overall(since=SINCE),
        lambda x: x.by_queue(SINCE, at(3600)),
        lambda x: x.by_line(SINCE, at(3600)),
        lambda x: x.by_hour(SINCE, at(3600)),
    ],
    ids=["overall", "overall-since", "by-queue", "by-line", "by-hour"],
)
def test_the_window_is_searched_in_the_call_time_index(
    tmp_path: Path, query: Callable[[ServiceLevelRepository], object]
) -> None:
    # SQLite uses an expression index only when the query repeats its expression: CALL_TIME
    # must stay the coalesce of ix_call_journal_call_time, same columns in the same order.
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        write_events(sessions, [*answered("a1", "5551000", "internet", 10.0, 100.0, met=True)])
        with journal_query_plans(engine) as plans:
            query(ServiceLevelRepository(sessions))
    finally:
        engine.dispose()
    [plan] = plans
    assert "SEARCH call_journal USING INDEX ix_call_journal_call_time (<expr>" in plan, plan


def test_abandon_rate(levels: ServiceLevelRepository) -> None:
    internet, tv = levels.by_queue(since=SINCE)
    assert internet.abandon_rate == pytest.approx(2 / 6)  # b1 early and b2 late both count
    assert tv.abandon_rate == pytest.approx(2 / 3)
    assert levels.overall(since=SINCE).abandon_rate == pytest.approx(4 / 9)
    assert ServiceLevel("all", 0, 0, 0, 0, 0, None, None, None, 0).abandon_rate is None


# --- by hour ------------------------------------------------------------------------------

KYIV = ZoneInfo("Europe/Kyiv")
DAY = datetime(2026, 11, 25, tzinfo=KYIV)  # UTC+2 in November


def started(call_id: str, when: datetime) -> list[JournalEvent]:
    return [
        CallStarted(call_id, "5551000", "+380441234567", "PJSIP/trunk-1", at=when),
        CallQueued(call_id, "internet", 1, at=when + timedelta(seconds=5)),
    ]


def answered_at(
    call_id: str, when: datetime, wait: float, talk: float | None, met: bool, over: bool = False
) -> list[JournalEvent]:
    events = started(call_id, when)
    if not met:
        events.append(AnswerTargetMissed(call_id, "internet", "5551000", 20.0, at=when))
    answer = when + timedelta(seconds=wait)
    events.append(CallAnswered(call_id, "internet", "agent-1", "PJSIP/a", wait, met, at=answer))
    if over:
        events.append(TalkLimitReached(call_id, "internet", "agent-1", "PJSIP/a", "guideline", 300))
    if talk is not None:
        events.append(CallCompleted(call_id, "internet", "agent-1", talk, "caller"))
    return events


def abandoned_at(call_id: str, when: datetime, late: bool) -> list[JournalEvent]:
    events = started(call_id, when)
    if late:
        events.append(AnswerTargetMissed(call_id, "internet", "5551000", 20.0, at=when))
    events.append(CallAbandoned(call_id, "internet", 30.0, at=when + timedelta(seconds=35)))
    return events


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def empty(key: str) -> ServiceLevel:
    return ServiceLevel(key, 0, 0, 0, 0, 0, None, None, None, 0)


def test_by_hour_in_local_time(sessions: sessionmaker[Session]) -> None:
    write_events(
        sessions,
        [
            *answered_at("k1", utc(2026, 11, 24, 21, 59, 59), 3.0, 10.0, met=True),  # day before
            *answered_at("k2", utc(2026, 11, 24, 22, 0, 0), 10.0, 100.0, met=True),  # 00:00
            *abandoned_at("k3", utc(2026, 11, 24, 22, 59, 59), late=False),  # 00:59:59
            *answered_at("k4", utc(2026, 11, 25, 7, 30), 40.0, 200.0, met=False, over=True),
            *abandoned_at("k5", utc(2026, 11, 25, 7, 45), late=True),  # 09:45 in Kyiv
            *answered_at("k6", utc(2026, 11, 25, 7, 50), 5.0, None, met=True),  # still talking
            *abandoned_at("k7", utc(2026, 11, 25, 21, 59, 59), late=False),  # 23:59:59
            *abandoned_at("k8", utc(2026, 11, 25, 22, 0, 0), late=False),  # the next day
            CallStarted("k9", "5551000", "+380441234567", "PJSIP/t", at=utc(2026, 11, 25, 8)),
            CallFinishedInMenu("k9", "5551000", "+380441234567", ("main:3",)),  # not offered
        ],
    )
    repository = ServiceLevelRepository(sessions)
    hours = repository.by_hour(DAY, DAY + timedelta(days=1), KYIV)

    assert [h.key for h in hours] == [f"2026-11-25T{hour:02}:00" for hour in range(24)]
    busy = {
        "2026-11-25T00:00": ServiceLevel(
            "2026-11-25T00:00", 2, 1, 1, 1, 0, 1.0, 10.0, 100.0, 0
        ),  # k2, k3 (left early: no share against)
        "2026-11-25T09:00": ServiceLevel(
            "2026-11-25T09:00",
            offered=3,  # k4, k5, k6
            answered=2,
            within_target=1,
            abandoned=1,
            abandoned_after_target=1,
            share=1 / 3,
            average_wait=(40 + 5) / 2,
            average_talk=200.0,  # k6 still talking
            over_guideline=1,
        ),
        "2026-11-25T23:00": ServiceLevel(
            "2026-11-25T23:00", 1, 0, 0, 1, 0, None, None, None, 0
        ),  # k7
    }
    assert rounded(*hours) == rounded(*[busy.get(h.key, empty(h.key)) for h in hours])
    assert [h.abandon_rate for h in hours if h.offered] == [0.5, pytest.approx(1 / 3), 1.0]
    assert all(h.abandon_rate is None for h in hours if not h.offered)
    # The hours add up to the day.
    day = repository.overall(DAY, DAY + timedelta(days=1))
    assert (day.offered, day.answered, day.within_target, day.abandoned) == (6, 3, 2, 3)
    assert sum(h.offered for h in hours) == day.offered

    # In UTC the same calls fall into other hours; a window cut mid-hour keeps its hours.
    utc_hours = repository.by_hour(utc(2026, 11, 25, 7, 40), utc(2026, 11, 25, 9, 10))
    assert [(h.key, h.offered, h.answered) for h in utc_hours] == [
        ("2026-11-25T07:00", 2, 1),  # k5, k6 (k4 at 07:30 is before the window)
        ("2026-11-25T08:00", 0, 0),
        ("2026-11-25T09:00", 0, 0),
    ]
    assert repository.by_hour(DAY, DAY) == []


def test_by_hour_across_summer_time_changes(sessions: sessionmaker[Session]) -> None:
    write_events(
        sessions,
        [
            # 29 March 2026: 03:00 Kyiv does not exist (02:59:59 EET -> 04:00 EEST).
            *abandoned_at("s1", utc(2026, 3, 29, 0, 30), late=False),  # 02:30 EET
            *abandoned_at("s2", utc(2026, 3, 29, 1, 30), late=False),  # 04:30 EEST
            # 25 October 2026: 03:00-04:00 Kyiv happens twice (EEST, then EET).
            *abandoned_at("w1", utc(2026, 10, 25, 0, 30), late=False),  # 03:30 EEST
            *abandoned_at("w2", utc(2026, 10, 25, 1, 30), late=True),  # 03:30 EET
            *abandoned_at("w3", utc(2026, 10, 25, 1, 45), late=True),  # 03:45 EET
        ],
    )
    repository = ServiceLevelRepository(sessions)

    spring = datetime(2026, 3, 29, tzinfo=KYIV)
    hours = repository.by_hour(spring, datetime(2026, 3, 30, tzinfo=KYIV), KYIV)
    assert len(hours) == 23
    assert [h.key[-5:] for h in hours[:4]] == ["00:00", "01:00", "02:00", "04:00"]
    assert [h.offered for h in hours[:4]] == [0, 0, 1, 1]
    assert hours[-1].key == "2026-03-29T23:00"

    autumn = datetime(2026, 10, 25, tzinfo=KYIV)
    hours = repository.by_hour(autumn, datetime(2026, 10, 26, tzinfo=KYIV), KYIV)
    assert len(hours) == 25
    assert [h.key[-5:] for h in hours[2:6]] == ["02:00", "03:00", "03:00", "04:00"]
    assert [(h.offered, h.abandoned_after_target) for h in hours[2:6]] == [
        (0, 0),
        (1, 0),
        (2, 2),
        (0, 0),
    ]
    assert hours[-1].key == "2026-10-25T23:00"


def test_by_hour_in_a_half_hour_time_zone(sessions: sessionmaker[Session]) -> None:
    """India is UTC+5:30: its hours start at half past in UTC."""
    write_events(
        sessions,
        [
            *answered_at("i1", utc(2026, 11, 25, 9, 29, 59), 4.0, 50.0, met=True),  # 14:59:59
            *answered_at("i2", utc(2026, 11, 25, 9, 30), 6.0, 70.0, met=True),  # 15:00
        ],
    )
    since = utc(2026, 11, 25, 9, 0)  # 14:30 in Kolkata: the first hour is cut
    hours = ServiceLevelRepository(sessions).by_hour(
        since, since + timedelta(hours=2), ZoneInfo("Asia/Kolkata")
    )
    assert [(h.key, h.answered, h.average_wait) for h in hours] == [
        ("2026-11-25T14:00", 1, 4.0),
        ("2026-11-25T15:00", 1, 6.0),
        ("2026-11-25T16:00", 0, None),
    ]

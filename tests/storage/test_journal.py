"""The call journal writer on both backends: merging, Unicode, flush/stop, failures."""

import asyncio
import itertools
import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    CallEnded,
    CallFellBack,
    CallFinishedInMenu,
    CallQueued,
    CallRouted,
    CallStarted,
)
from ivr.storage.batch import Tuning
from ivr.storage.journal import CallJournal, JournalEvent, merge_events, write_events
from ivr.storage.models import CallRecord
from ivr.storage.repository import CallRecordView, JournalRepository
from ivr.tasks import TaskSet

T0 = datetime(2024, 11, 23, 9, 0, tzinfo=UTC)


def call_events(call_id: str, caller: str = "+380441234567") -> list[JournalEvent]:
    """A whole call: menu, engine route, dialplan fallback, queue join, hangup."""
    return [
        CallStarted(call_id, "5551000", caller, "PJSIP/trunk-0001", at=T0),
        CallRouted(
            call_id,
            "5551000",
            caller,
            "internet",
            "existing_service",
            5,
            ("main:1", "internet:2"),
            at=T0 + timedelta(seconds=10),
        ),
        CallFellBack(call_id, "5551000", caller, "general", "FAILURE/timeout"),
        CallQueued(call_id, "overflow", 1, at=T0 + timedelta(seconds=12)),
        CallEnded(call_id, "Normal Clearing", at=T0 + timedelta(seconds=90)),
    ]


def comparable(view: CallRecordView) -> tuple[object, ...]:
    return (
        view.line,
        view.caller,
        view.channel,
        view.started_at,
        view.routed_at,
        view.queue,
        view.caller_class,
        view.priority,
        view.menu_path,
        view.fell_back,
        view.fallback_reason,
        view.queued_at,
        view.ended_at,
        view.hangup_cause,
        view.outcome,
    )


EXPECTED = (
    "5551000",
    "+380441234567",
    "PJSIP/trunk-0001",
    T0,
    T0 + timedelta(seconds=10),
    "overflow",  # where Asterisk really queued the caller wins over route and fallback
    "existing_service",
    5,
    "main:1>internet:2",
    True,
    "FAILURE/timeout",
    T0 + timedelta(seconds=12),
    T0 + timedelta(seconds=90),
    "Normal Clearing",
    "ended",
)


def test_merge_is_independent_of_order_and_batching(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    events = call_events("x")
    for n, order in enumerate(itertools.permutations(events)):
        call_id = f"perm-{n}"
        renamed = [replace(e, call_id=call_id) for e in order]
        if n % 2:  # one batch: merged in Python first
            write_events(sessions, renamed)
        else:  # one event per transaction: merged by the database
            for event in renamed:
                write_events(sessions, [event])
        view = repository.get(call_id)
        assert view is not None
        assert comparable(view) == EXPECTED, order
    assert len(repository.recent(limit=1000)) == 120


async def test_out_of_order_events_become_one_row(
    journal: CallJournal, repository: JournalRepository
) -> None:
    started, routed, _, _, ended = call_events("1700000000.42")
    journal(ended)  # the hangup is written before the call's route is known
    await journal.flush()
    assert repository.get("1700000000.42") == CallRecordView(
        id=repository.recent()[0].id,
        call_id="1700000000.42",
        line=None,
        caller=None,
        channel=None,
        started_at=None,
        routed_at=None,
        queue=None,
        caller_class=None,
        priority=None,
        menu_path=None,
        fell_back=False,
        fallback_reason=None,
        queued_at=None,
        ended_at=T0 + timedelta(seconds=90),
        hangup_cause="Normal Clearing",
        finished_in_menu_at=None,
        outcome="abandoned",
        agent=None,
        agent_channel=None,
        answered_at=None,
        wait_seconds=None,
        talk_seconds=None,
        target_met=None,
        escalations=None,
        over_guideline=False,
        ended_by=None,
        abandoned_at=None,
        subscriber_id=None,
        predicted_wait_seconds=None,
    )
    journal(routed)
    journal(started)
    await journal.flush()

    [view] = repository.recent()
    assert (view.queue, view.priority, view.menu_path, view.channel) == (
        "internet",
        5,
        "main:1>internet:2",
        "PJSIP/trunk-0001",
    )
    assert view.ended_at == T0 + timedelta(seconds=90)
    assert view.outcome == "abandoned"  # hung up before reaching a queue


async def test_a_set_field_is_never_overwritten_with_nothing(
    journal: CallJournal, repository: JournalRepository
) -> None:
    journal(CallStarted("c1", "5552000", "+380441110001", "PJSIP/a-1", at=T0))
    await journal.flush()
    # The dialplan's fallback event carries no line or caller (AMI headers missing).
    journal(CallFellBack("c1", "", "", "general", "FAILURE"))
    journal(CallRouted("c1", "5552000", "+380441110001", "connections", "new", 10, ()))
    await journal.flush()

    view = repository.get("c1")
    assert view is not None
    assert (view.line, view.caller, view.channel) == ("5552000", "+380441110001", "PJSIP/a-1")
    assert (view.queue, view.fell_back, view.outcome) == ("general", True, "fallback")
    assert view.menu_path is None  # routed without a menu


async def test_outcomes_follow_the_call(
    journal: CallJournal, repository: JournalRepository
) -> None:
    expected = ["started", "routed", "fallback", "queued", "ended"]
    for event, outcome in zip(call_events("c2"), expected, strict=True):
        journal(event)
        await journal.flush()
        view = repository.get("c2")
        assert view is not None and view.outcome == outcome


async def test_a_call_finished_in_the_menu_is_self_service(
    journal: CallJournal, sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    journal(CallEnded("s1", "Normal Clearing", at=T0 + timedelta(seconds=40)))
    journal(CallStarted("s1", "5551000", "+380441234567", "PJSIP/trunk-0002", at=T0))
    await journal.flush()
    view = repository.get("s1")
    assert view is not None and view.outcome == "abandoned"

    finished = CallFinishedInMenu(
        "s1", "", "", ("main:3", "лічильник:1"), at=T0 + timedelta(seconds=35)
    )
    journal(finished)  # after the hangup was written: the order does not matter
    await journal.flush()
    view = repository.get("s1")
    assert view is not None
    assert (view.outcome, view.menu_path, view.finished_in_menu_at) == (
        "self_service",
        "main:3>лічильник:1",
        T0 + timedelta(seconds=35),
    )
    assert (view.line, view.caller) == ("5551000", "+380441234567")  # never reset to NULL

    # Finished in the menu but still on the line: self-service already.
    write_events(sessions, [replace(finished, call_id="s2")])
    view = repository.get("s2")
    assert view is not None and view.outcome == "self_service"
    # A call that reached a queue is not self-service, whatever the menu said.
    write_events(sessions, [*call_events("s3"), replace(finished, call_id="s3")])
    view = repository.get("s3")
    assert view is not None and view.outcome == "ended"
    assert view.finished_in_menu_at == T0 + timedelta(seconds=35)


async def test_unicode_round_trips(journal: CallJournal, repository: JournalRepository) -> None:
    caller = "Олександр Іванович Шевченко"
    hungarian = "Árvíztűrő tükörfúrógép"
    journal(CallStarted("u1", "5551000", caller, "PJSIP/Łódź-0001", at=T0))
    journal(CallRouted("u1", "5551000", caller, "підтримка", hungarian, 3, ("головне:1", "ő:2")))
    journal(CallEnded("u1", "Normal\x00 Clearing 📞"))  # NUL would make PostgreSQL refuse it
    await journal.flush()

    view = repository.get("u1")
    assert view is not None
    assert (view.caller, view.channel, view.queue, view.caller_class, view.menu_path) == (
        caller,
        "PJSIP/Łódź-0001",
        "підтримка",
        hungarian,
        "головне:1>ő:2",
    )
    assert view.hangup_cause == "Normal Clearing 📞"


async def test_timestamps_are_stored_and_read_as_utc(
    journal: CallJournal, repository: JournalRepository
) -> None:
    kyiv = timezone(timedelta(hours=2))
    journal(CallStarted("t1", "5551000", "1", "c", at=datetime(2024, 1, 1, 12, 0, tzinfo=kyiv)))
    await journal.flush()
    view = repository.get("t1")
    assert view is not None and view.started_at is not None
    assert view.started_at.utcoffset() == timedelta(0)
    assert view.started_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


async def test_flush_and_stop_lose_nothing(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    journal = CallJournal(sessions, Tuning(batch_size=50))
    tasks = TaskSet("test")
    run = tasks.spawn(journal.run())
    for n in range(120):
        for event in call_events(f"f{n}"):
            journal(event)
    assert journal.pending == 600
    await journal.flush()
    assert journal.pending == 0
    for n in range(120, 150):
        for event in call_events(f"f{n}"):
            journal(event)
    await journal.stop()

    assert run.done() and run.exception() is None
    assert journal.pending == 0
    views = repository.recent(limit=1000)
    assert len(views) == 150
    assert all(comparable(v) == EXPECTED for v in views)
    assert views[0].call_id == "f149"  # newest first


class FlakySessions:
    """A session factory whose database is down for the first `failures` attempts."""

    def __init__(self, sessions: sessionmaker[Session], failures: int) -> None:
        self.sessions = sessions
        self.failures = failures
        self.attempts = 0

    def __call__(self) -> Session:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.sessions()


async def test_database_errors_are_retried_and_nothing_is_lost(
    sessions: sessionmaker[Session],
    repository: JournalRepository,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = FlakySessions(sessions, failures=4)
    journal = CallJournal(flaky, Tuning(retry_initial=0.01, retry_max=0.05))
    tasks = TaskSet("test")
    tasks.spawn(journal.run())
    for n in range(10):
        for event in call_events(f"r{n}"):
            journal(event)
    with caplog.at_level(logging.WARNING, logger="ivr.storage.journal"):
        await asyncio.wait_for(journal.flush(), 10)
        await journal.stop()

    assert flaky.attempts >= 5
    assert journal.pending == 0
    assert sorted(v.call_id for v in repository.recent()) == [f"r{n}" for n in range(10)]
    assert all(comparable(v) == EXPECTED for v in repository.recent())
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed (attempt 1" in m and "database is down" in m for m in messages)
    assert any("written again after 4 failed attempts" in m for m in messages)
    await tasks.cancel_all()


async def test_listener_never_waits_for_the_database(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    """__call__ does no I/O: it returns at once even while the writer is stuck on the DB."""
    entered, release = threading.Event(), threading.Event()
    calls = 0

    def hung_database() -> Session:
        nonlocal calls
        calls += 1
        entered.set()
        release.wait(10)  # a database that does not answer
        return sessions()

    journal = CallJournal(hung_database)
    for event in call_events("h0"):
        journal(event)
    assert calls == 0 and journal.pending == 5  # nothing touched the database yet

    tasks = TaskSet("test")
    tasks.spawn(journal.run())
    assert await asyncio.to_thread(entered.wait, 5)  # the writer is now stuck in the DB
    began = time.perf_counter()
    for n in range(1, 200):
        for event in call_events(f"h{n}"):
            journal(event)
    assert time.perf_counter() - began < 0.5
    assert journal.pending == 1000

    release.set()
    await asyncio.wait_for(journal.stop(), 10)
    assert journal.pending == 0
    assert len(repository.recent(limit=500)) == 200
    await tasks.cancel_all()


async def test_stop_gives_up_when_the_database_stays_down(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    journal = CallJournal(FlakySessions(sessions, failures=10**9), Tuning(retry_initial=0.01))
    tasks = TaskSet("test")
    run = tasks.spawn(journal.run())
    journal(CallEnded("d1", "Normal Clearing"))

    with caplog.at_level(logging.ERROR, logger="ivr.storage.journal"):
        await asyncio.wait_for(journal.stop(timeout=0.2), 5)

    assert run.done()
    assert journal.pending == 1
    assert any("1 events" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError, match="1 events not written"):
        await journal.flush()


def test_batch_merge_emits_complete_rows() -> None:
    rows = merge_events([CallEnded("a", "x"), CallStarted("b", "1", "2", "3")])
    assert [r["call_id"] for r in rows] == ["a", "b"]
    assert all(set(r) == set(rows[0]) for r in rows)
    assert rows[0]["fell_back"] is False and rows[0]["line"] is None


def subscriber_ids(sessions: sessionmaker[Session]) -> dict[str, int | None]:
    query = select(CallRecord.call_id, CallRecord.subscriber_id)
    with sessions() as session:
        return {call_id: subscriber for call_id, subscriber in session.execute(query)}


def routed(call_id: str, subscriber_id: int | None) -> CallRouted:
    return CallRouted(
        call_id, "5551000", "+380441234567", "internet", "existing_service", 5, ("main:1",),
        at=T0 + timedelta(seconds=10), subscriber_id=subscriber_id,
    )  # fmt: skip


def test_subscriber_from_the_route_is_merged_and_never_reset(
    sessions: sessionmaker[Session],
) -> None:
    """The menu's subscriber (CallRouted) lands on the call's row, merged the same in Python
    (one batch) and in SQL (event by event) whatever the order; a CallRouted that knows no
    subscriber never resets it."""
    events = [*call_events("x"), routed("x", 42)]
    for n, order in enumerate(itertools.permutations(events)):
        if n % 7:  # 720 orders: a sample is enough
            continue
        call_id = f"sub-{n}"
        renamed = [replace(e, call_id=call_id) for e in order]
        if n % 2:
            write_events(sessions, renamed)
        else:
            for event in renamed:
                write_events(sessions, [event])
        [python] = merge_events(renamed)
        assert python["subscriber_id"] == 42, order
    ids = subscriber_ids(sessions)
    assert len(ids) == 103 and set(ids.values()) == {42}

    # A call the menu did not identify; a later identification replaces an earlier one.
    write_events(sessions, call_events("anonymous"))
    write_events(sessions, [routed("y", 7)])
    write_events(sessions, [routed("y", 8)])
    write_events(sessions, [routed("z", 7), routed("z", 8)])
    write_events(sessions, [routed("z", None)])
    ids = subscriber_ids(sessions)
    assert (ids["anonymous"], ids["y"], ids["z"]) == (None, 8, 8)

"""The callback work queue on both backends: order, claims, retries, crashes."""

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import CallbackRequested
from ivr.storage.callbacks import CallbackStore, PendingCallback
from ivr.storage.reports import ReportRepository, write_reports

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def request(
    n: int, created: float, waiting_since: float | None = None, **changes: object
) -> CallbackRequested:
    event = CallbackRequested(
        f"c{n}",
        "5552000",
        f"38067111223{n}",
        "Ковальчук Марія",
        "connections",
        "new_connection",
        promised_by=T0 + timedelta(hours=2),
        at=T0 + timedelta(minutes=created),
        waiting_since=None if waiting_since is None else T0 + timedelta(minutes=waiting_since),
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> CallbackStore:
    return CallbackStore(sessions)


def ids(store: CallbackStore, sessions: sessionmaker[Session]) -> dict[str, int]:
    return {v.call_id or "": v.id for v in ReportRepository(sessions).callbacks(limit=1000)}


def test_due_in_place_in_line_order(sessions: sessionmaker[Session], store: CallbackStore) -> None:
    assert store.due(T0) == []
    write_reports(
        sessions,
        [
            request(0, created=10),  # asked in the menu at 09:10
            request(1, created=20, waiting_since=1),  # waited in a queue from 09:01
            request(2, created=5),
            request(3, created=30, waiting_since=5),  # the same place as c2: by id
            request(4, created=0.5, name="", line="", caller_class=""),
        ],
    )
    now = T0 + timedelta(hours=1)
    due = store.due(now)
    assert [c.call_id for c in due] == ["c4", "c1", "c2", "c3", "c0"]
    assert [c.call_id for c in store.due(now, limit=2)] == ["c4", "c1"]
    first = due[1]
    assert first == PendingCallback(
        id=first.id,
        call_id="c1",
        phone="380671112231",
        name="Ковальчук Марія",
        line="5552000",
        queue="connections",
        caller_class="new_connection",
        waiting_since=T0 + timedelta(minutes=1),
        attempts=0,
        promised_by=T0 + timedelta(hours=2),
    )
    assert due[0].waiting_since == T0 + timedelta(seconds=30)  # created_at: no wait before
    assert (due[0].name, due[0].line, due[0].caller_class) == ("", "", "")

    # Taken, finished or scheduled later: not due.
    by_call = ids(store, sessions)
    assert store.start_attempt(by_call["c4"], now) == 1
    store.start_attempt(by_call["c2"], now)
    store.finish_attempt(by_call["c2"], "answered", now, None)
    store.start_attempt(by_call["c0"], now)
    store.finish_attempt(by_call["c0"], "no_answer", now, now + timedelta(minutes=10))
    assert [c.call_id for c in store.due(now)] == ["c1", "c3"]
    later = [c.call_id for c in store.due(now + timedelta(minutes=10))]
    assert later == ["c1", "c3", "c0"]  # due at next_attempt_at, inclusive


def test_two_dialers_claim_one_request_and_only_one_wins(
    sessions: sessionmaker[Session], store: CallbackStore
) -> None:
    write_reports(sessions, [request(n, created=n) for n in range(8)])
    now = T0 + timedelta(hours=1)
    rivals = [CallbackStore(sessions), CallbackStore(sessions)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for callback in store.due(now):

            def claim(
                rival: CallbackStore,
                callback_id: int = callback.id,
                barrier: threading.Barrier = threading.Barrier(2),  # noqa: B008
            ) -> int:
                barrier.wait(5)  # both claim at the same moment
                return rival.start_attempt(callback_id, now)

            results = sorted(pool.map(claim, rivals))
            assert results == [0, 1], callback
            view = store.get(callback.id)
            assert view is not None
            assert (view.status, view.attempts, view.last_attempt_at) == ("dialling", 1, now)
    assert store.due(now) == []
    assert store.start_attempt(callback.id, now) == 0  # taken: not open any more


def test_retries_then_fails_after_the_last_attempt(
    sessions: sessionmaker[Session], store: CallbackStore
) -> None:
    write_reports(sessions, [request(0, created=0)])
    [pending] = store.due(T0)
    now = T0 + timedelta(minutes=1)

    for attempt, outcome in enumerate(["no_answer", "busy"], start=1):
        assert store.start_attempt(pending.id, now) == attempt
        retry_at = now + timedelta(minutes=15)
        store.finish_attempt(pending.id, outcome, now, retry_at)
        view = store.get(pending.id)
        assert view is not None
        assert (view.status, view.outcome, view.next_attempt_at, view.attempts) == (
            "open",
            outcome,
            retry_at,
            attempt,
        )
        assert store.due(retry_at - timedelta(seconds=1)) == []
        [again] = store.due(retry_at)
        assert again.attempts == attempt
        now = retry_at

    assert store.start_attempt(pending.id, now) == 3
    store.finish_attempt(pending.id, "no_answer", now, None)  # the last attempt
    view = store.get(pending.id)
    assert view is not None
    assert (view.status, view.outcome, view.attempts, view.next_attempt_at) == (
        "failed",
        "no_answer",
        3,
        None,
    )
    assert view.answered_at is None and view.last_attempt_at == now
    assert store.due(now + timedelta(days=1)) == []
    assert store.start_attempt(pending.id, now) == 0


def test_answered_is_done(
    sessions: sessionmaker[Session], store: CallbackStore, caplog: pytest.LogCaptureFixture
) -> None:
    write_reports(sessions, [request(0, created=0, waiting_since=-3)])
    [pending] = store.due(T0)
    now = T0 + timedelta(minutes=2)
    assert store.start_attempt(pending.id, now) == 1
    store.finish_attempt(pending.id, "no_answer", now, now + timedelta(minutes=5))
    now += timedelta(minutes=5)
    assert store.start_attempt(pending.id, now) == 2
    store.finish_attempt(pending.id, "answered", now + timedelta(seconds=20), None)

    view = store.get(pending.id)
    assert view is not None
    assert (view.status, view.outcome, view.attempts) == ("done", "answered", 2)
    assert view.answered_at == now + timedelta(seconds=20)
    assert view.next_attempt_at is None
    assert view.waiting_since == T0 - timedelta(minutes=3)
    assert store.due(now + timedelta(days=1)) == []

    # A late or repeated outcome never reopens a finished request.
    with caplog.at_level(logging.WARNING, logger="ivr.storage.callbacks"):
        store.finish_attempt(pending.id, "no_answer", now, now + timedelta(minutes=5))
        store.finish_attempt(123456, "answered", now, None)
    assert store.get(pending.id) == view
    assert store.get(123456) is None
    assert len([r for r in caplog.records if "not stored" in r.getMessage()]) == 2


def test_reopen_interrupted(sessions: sessionmaker[Session], store: CallbackStore) -> None:
    write_reports(sessions, [request(n, created=n) for n in range(4)])
    by_call = ids(store, sessions)
    now = T0 + timedelta(hours=1)
    for call_id in ("c0", "c1", "c2"):
        assert store.start_attempt(by_call[call_id], now) == 1
    store.finish_attempt(by_call["c2"], "answered", now, None)
    assert [c.call_id for c in store.due(now)] == ["c3"]

    assert store.reopen_interrupted() == 2  # the crash left c0 and c1 dialling
    assert store.reopen_interrupted() == 0
    assert [c.call_id for c in store.due(now)] == ["c0", "c1", "c3"]
    statuses = {k: store.get(v) for k, v in by_call.items()}
    assert {k: (v.status, v.attempts) for k, v in statuses.items() if v} == {
        "c0": ("open", 1),  # the interrupted attempt still counts
        "c1": ("open", 1),
        "c2": ("done", 1),
        "c3": ("open", 0),
    }
    assert store.start_attempt(by_call["c0"], now) == 2


def test_reopen_leaves_attempts_that_may_still_ring(
    sessions: sessionmaker[Session], store: CallbackStore
) -> None:
    write_reports(sessions, [request(n, created=n) for n in range(2)])
    by_call = ids(store, sessions)
    now = T0 + timedelta(hours=1)
    store.start_attempt(by_call["c0"], now - timedelta(minutes=5))  # a dead engine's
    store.start_attempt(by_call["c1"], now)  # another engine's, ringing now
    assert store.reopen_interrupted(started_before=now - timedelta(seconds=90)) == 1
    assert [c.call_id for c in store.due(now)] == ["c0"]

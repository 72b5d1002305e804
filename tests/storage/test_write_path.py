"""The one write path under concurrent writers, on both backends: every read-then-write
(ending an outage, the agent log) and every plain write from many threads at once, with no
error ("database is locked") and no row lost or written twice."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import AgentChanged, CallStarted
from ivr.storage.agent_log import write_agent_events
from ivr.storage.callbacks import CallbackStore
from ivr.storage.db import writing
from ivr.storage.dead_letters import DeadLetter, DeadLetterStore
from ivr.storage.desk import DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.journal import write_events
from ivr.storage.models import (
    AgentActivityRecord,
    AppealRecord,
    CallbackRequestRecord,
    CallRecord,
    DeadLetterRecord,
    OutageRecord,
)

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
THREADS = 8
ROUNDS = 12
OUTAGES = 5


def count(sessions: sessionmaker[Session], table: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def run_threads(work: Callable[[int, int], None]) -> list[BaseException]:
    """`work(thread, round)` from THREADS threads started together; the errors raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> None:
        start.wait()
        for round_ in range(ROUNDS):
            try:
                work(thread, round_)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_concurrent_writers_lose_nothing_and_never_fail(sessions: sessionmaker[Session]) -> None:
    directory = StoreDirectory(sessions)
    desk = DeskStore(sessions)
    dead_letters = DeadLetterStore(sessions)
    callbacks = CallbackStore(sessions)
    outages = [
        directory.post_outage(f"City{n}", "", "down", starts_at=T0).id for n in range(OUTAGES)
    ]
    with writing(sessions) as session:
        session.add_all(
            CallbackRequestRecord(
                created_at=T0,
                phone=f"38067000{n:04d}",
                queue="internet",
                caller_class="existing",
                promised_by=T0 + timedelta(hours=1),
                status="open",
            )
            for n in range(THREADS)
        )
    with sessions() as session:
        callback_ids = list(session.scalars(select(CallbackRequestRecord.id)))

    def work(thread: int, round_: int) -> None:
        at = T0 + timedelta(minutes=1 + round_, seconds=thread)
        # read-then-write: the first end of an outage wins, later ones keep it
        directory.end_outage(outages[(thread + round_) % OUTAGES], at)
        # read-then-write: every thread changes the same agent (one open interval at the end)
        write_agent_events(sessions, [AgentChanged("anna", "internet", "ready", at=at)])
        write_events(sessions, [CallStarted(f"c-{thread}-{round_}", "0800", "380", "PJSIP/x")])
        desk.add_appeal(
            city="Kyiv",
            organisation="Coop",
            full_name=f"Caller {thread}",
            contact_phone="380441234567",
            purpose=f"round {round_}",
        )
        directory.post_outage(f"Area{thread}", "tv", f"round {round_}", starts_at=at)
        dead_letters.keep([DeadLetter("test", f'{{"n": {round_}}}', "bad", at)])
        callback = callback_ids[thread]
        attempt = callbacks.start_attempt(callback, at)
        assert attempt == round_ + 1
        callbacks.finish_attempt(callback, "no_answer", at, retry_at=at)

    errors = run_threads(work)

    assert errors == []
    writes = THREADS * ROUNDS
    assert count(sessions, AgentActivityRecord) == writes
    assert count(sessions, CallRecord) == writes
    assert count(sessions, AppealRecord) == writes
    assert count(sessions, DeadLetterRecord) == writes
    assert count(sessions, OutageRecord) == OUTAGES + writes
    with sessions() as session:
        a = AgentActivityRecord
        open_rows = session.scalar(select(func.count()).select_from(a).where(a.ended_at.is_(None)))
        assert open_rows == 1  # the agent's intervals never overlap
        ended = session.scalars(
            select(OutageRecord.ended_at).where(OutageRecord.id.in_(outages))
        ).all()
        assert None not in ended and len(ended) == OUTAGES
        attempts = session.scalars(select(CallbackRequestRecord.attempts)).all()
        assert sorted(attempts) == [ROUNDS] * THREADS

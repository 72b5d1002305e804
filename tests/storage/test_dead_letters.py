"""One unwritable row no longer stops a writer, on both backends: the database's refusal is
told apart from an outage, the refused events go to the dead letters (table, else a file),
the others are written, and later batches flow on."""

import asyncio
import json
import logging
import random
import secrets
import string
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AgentChanged,
    AgentRang,
    CallRouted,
    CallStarted,
    MeterReadingSubmitted,
    UnreachableReported,
)
from ivr.storage.agent_log import AgentLog
from ivr.storage.batch import BatchWriter, Tuning
from ivr.storage.db import make_engine, make_session_factory
from ivr.storage.dead_letters import DeadLetterStore, about_the_data
from ivr.storage.journal import CallJournal
from ivr.storage.limits import CALL_ID, INDEX_ENTRY_BYTES, MAX_UTF8_BYTES, SHORT
from ivr.storage.models import AgentActivityRecord, CallRecord, DeadLetterRecord
from ivr.storage.reports import ReportWriter
from ivr.tasks import TaskSet

T0 = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
FAST = Tuning(quiet=0.05, max_delay=1.0, retry_initial=0.01, retry_max=0.05)


def random_key(length: int) -> str:
    """Incompressible text (PostgreSQL compresses index entries: "x" * 3000 would fit),
    letters only (a line keeps only its digits)."""
    return "".join(secrets.choice(string.ascii_letters) for _ in range(length))


def four_byte_text(length: int, seed: int) -> str:
    """`length` random characters that each take 4 bytes in UTF-8 (the worst case)."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x10000, 0x10FFFF)) for _ in range(length))


def started(call_id: str, n: int = 0) -> CallStarted:
    return CallStarted(call_id, "5551000", "380441234567", "PJSIP/trunk-1", T0 + timedelta(n))


def dead_letters(sessions: sessionmaker[Session]) -> list[DeadLetterRecord]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetterRecord).order_by(DeadLetterRecord.id)))


def journal_ids(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(CallRecord.call_id)))


@asynccontextmanager
async def running(writer: BatchWriter[Any]) -> AsyncIterator[None]:
    tasks = TaskSet("test-dead-letters")
    tasks.spawn(writer.run(), name=writer.name)
    try:
        yield
    finally:
        await writer.stop(timeout=5)
        await tasks.cancel_all()


async def eventually(condition: Callable[[], bool], timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def put_and_flush(writer: BatchWriter[Any], events: Sequence[Any]) -> None:
    for event in events:
        writer.put(event)
    await asyncio.wait_for(writer.flush(), 20)


async def test_poisoned_events_are_set_aside_and_the_rest_written(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """One batch: 40 good calls, a 3000-character call id (over CALL_ID) and a subscriber
    id no INTEGER column takes (a real refusal of both databases: SQLite's driver raises
    OverflowError, PostgreSQL "integer out of range")."""
    long_id = random_key(3000)
    overflow = CallRouted("big-1", "5551000", "38044", "internet", "c", 1, ("m",), T0, "", 2**63)
    good = [started(f"g{n}", n) for n in range(40)]
    batch = [*good[:13], started(long_id), *good[13:29], overflow, *good[29:]]
    journal = CallJournal(sessions, FAST)
    began = datetime.now(UTC)
    async with running(journal):
        with caplog.at_level(logging.WARNING, logger="ivr.storage.journal"):
            await put_and_flush(journal, batch)
        assert journal_ids(sessions) == {f"g{n}" for n in range(40)}
        letters = dead_letters(sessions)
        assert [letter.writer for letter in letters] == ["journal", "journal"]
        rows = [json.loads(letter.row) for letter in letters]
        assert (rows[0]["event"], rows[0]["call_id"]) == ("CallStarted", long_id)
        assert (rows[1]["event"], rows[1]["subscriber_id"]) == ("CallRouted", 2**63)
        assert letters[0].error == "TooLong: call_id: 3000 characters, at most 200"
        assert any(word in letters[1].error for word in ("OverflowError", "out of range"))
        assert all(began <= letter.at <= datetime.now(UTC) for letter in letters)
        stats = journal.stats()
        assert (stats.backlog, stats.dead_letters) == (0, 2)
        assert stats.last_dead_letter_error == letters[1].error

        # The writer goes on: a later batch is written, nothing more set aside.
        await put_and_flush(journal, [started("after-1"), started("after-2")])
        assert {"after-1", "after-2"} <= journal_ids(sessions)
        assert len(dead_letters(sessions)) == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("a batch of 42 events cannot be stored" in m for m in messages)
    assert sum("set aside a" in m for m in messages) == 2
    assert long_id not in "".join(messages)  # the refused value is in the table, not the log


async def test_the_report_writer_and_the_agent_log_set_aside_too(
    sessions: sessionmaker[Session],
) -> None:
    too_long_line = random_key(SHORT + 1)
    reports = [
        UnreachableReported("u1", "0800505050", "5551000", "web", "38067", "other", "38", at=T0),
        UnreachableReported("u2", too_long_line, "5551000", "web", "38067", "other", "38", at=T0),
        MeterReadingSubmitted("m1", "5551000", "38044", "10000001", 2**63, "123", at=T0),
        MeterReadingSubmitted("m2", "5551000", "38044", "10000001", 1, "124", at=T0),
    ]
    writer = ReportWriter(sessions, FAST)
    async with running(writer):
        await put_and_flush(writer, reports)
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM unreachable_reports")) == 1
        assert session.scalar(text("SELECT reading FROM meter_readings")) == "124"
    letters = dead_letters(sessions)
    assert [(d.writer, json.loads(d.row)["call_id"]) for d in letters] == [
        ("reports", "u2"),
        ("reports", "m1"),
    ]
    assert letters[0].error == f"TooLong: reported_line: {SHORT + 1} characters, at most 200"

    agent_log = AgentLog(sessions, FAST)
    async with running(agent_log):
        await put_and_flush(
            agent_log,
            [
                AgentChanged("1001", "q", "ready", at=T0),
                AgentChanged(random_key(SHORT + 1), "q", "ready", at=T0),
                AgentRang("1001", "q", "c1", 2.0, True, at=T0),
                AgentChanged("1001", "q", "paused", "lunch", at=T0 + timedelta(minutes=5)),
            ],
        )
        assert agent_log.stats().dead_letters == 1
    with sessions() as session:
        states = session.execute(
            select(AgentActivityRecord.state, AgentActivityRecord.ended_at).order_by(
                AgentActivityRecord.started_at
            )
        ).all()
    assert [tuple(s) for s in states] == [("ready", T0 + timedelta(minutes=5)), ("paused", None)]
    assert dead_letters(sessions)[-1].writer == "agent_log"


async def test_values_up_to_the_limits_are_stored_and_indexed(
    sessions: sessionmaker[Session],
) -> None:
    """Every indexed column a writer fills takes SHORT characters of 4 bytes each (random:
    no compression helps) on both backends, so the limits are the only refusal."""
    assert CALL_ID * MAX_UTF8_BYTES < INDEX_ENTRY_BYTES
    assert SHORT * MAX_UTF8_BYTES < INDEX_ENTRY_BYTES
    call_id, line, contract, agent = (four_byte_text(SHORT, seed) for seed in range(4))
    journal, reports, agents = (
        CallJournal(sessions, FAST),
        ReportWriter(sessions, FAST),
        AgentLog(sessions, FAST),
    )
    async with running(journal):
        await put_and_flush(journal, [started(call_id)])
    async with running(reports):
        report = UnreachableReported("u1", line, "5551000", "web", "380", "other", "38", at=T0)
        reading = MeterReadingSubmitted("m1", "5551000", "38044", contract, 1, "1", at=T0)
        await put_and_flush(reports, [report, reading])
    async with running(agents):
        await put_and_flush(agents, [AgentChanged(agent, "q", "ready", at=T0)])
    assert dead_letters(sessions) == []
    with sessions() as session:
        assert session.scalar(select(CallRecord.call_id)) == call_id
        assert session.scalar(text("SELECT reported_line FROM unreachable_reports")) == line
        assert session.scalar(text("SELECT contract FROM meter_readings")) == contract
        assert session.scalar(select(AgentActivityRecord.agent)) == agent


def test_a_key_too_long_for_the_index_is_about_the_data(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """The measured failure: PostgreSQL refuses a 3000-character random call id ("index row
    size exceeds btree maximum", SQLSTATE 54000, which psycopg files as OperationalError);
    it counts as a data refusal. SQLite has no such limit and stores it."""
    row = {"call_id": random_key(3000), "fell_back": False, "over_guideline": False}
    if engine.dialect.name == "sqlite":
        with sessions() as session, session.begin():
            session.execute(insert(CallRecord), [row])
        assert journal_ids(sessions) == {row["call_id"]}
        return
    with pytest.raises(Exception) as refused, sessions() as session, session.begin():
        session.execute(insert(CallRecord), [row])
    assert "index row size" in str(refused.value)
    assert about_the_data(refused.value)


class Switchable:
    """A session factory whose database is gone (a real driver error: connection refused,
    or a SQLite file that cannot be opened) until `back()`."""

    def __init__(self, sessions: sessionmaker[Session], gone: Engine) -> None:
        self._sessions, self._gone = sessions, make_session_factory(gone)
        self.down = True
        self.attempts = 0

    def back(self) -> None:
        self.down = False

    def __call__(self) -> Session:
        self.attempts += 1
        return self._gone() if self.down else self._sessions()


def unreachable_engine(engine: Engine, tmp_path: Path) -> Engine:
    if engine.dialect.name == "sqlite":
        return create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'ivr.db'}")
    return make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens


async def test_an_outage_is_retried_not_dead_lettered(
    sessions: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    gone = unreachable_engine(engine, tmp_path)
    database = Switchable(sessions, gone)
    spill = tmp_path / "var" / "dead_letters.jsonl"
    journal = CallJournal(database, FAST, DeadLetterStore(database, spill))
    try:
        async with running(journal):
            for n in range(30):
                journal.put(started(f"o{n}", n))
            await eventually(lambda: database.attempts >= 4)  # it keeps trying meanwhile
            assert journal.pending == 30 and journal_ids(sessions) == set()
            database.back()
            await asyncio.wait_for(journal.flush(), 10)
    finally:
        gone.dispose()
    assert journal_ids(sessions) == {f"o{n}" for n in range(30)}
    assert dead_letters(sessions) == [] and not spill.exists()
    assert journal.stats().dead_letters == 0


async def test_dead_letters_go_to_a_file_when_the_table_refuses_them(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as session, session.begin():
        session.execute(text("DROP TABLE dead_letters"))  # the table refuses (it is gone)
    spill = tmp_path / "var" / "dead_letters.jsonl"
    journal = CallJournal(sessions, FAST, DeadLetterStore(sessions, spill))
    long_id = random_key(500)
    async with running(journal):
        await put_and_flush(journal, [started("f1"), started(long_id), started("f2")])
    assert journal_ids(sessions) == {"f1", "f2"}
    [line] = spill.read_text(encoding="ascii").splitlines()
    letter = json.loads(line)
    assert (letter["writer"], json.loads(letter["row"])["call_id"]) == ("journal", long_id)
    assert letter["error"] == "TooLong: call_id: 500 characters, at most 200"
    assert datetime.fromisoformat(letter["at"]) <= datetime.now(UTC)
    assert journal.stats().dead_letters == 1


async def test_a_refused_event_is_kept_while_neither_table_nor_file_takes_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as session, session.begin():
        session.execute(text("DROP TABLE dead_letters"))
    blocker = tmp_path / "engine-var"
    blocker.write_text("a file where the var/ directory should be")
    spill = blocker / "dead_letters.jsonl"
    journal = CallJournal(sessions, FAST, DeadLetterStore(sessions, spill))
    async with running(journal):
        for event in (started("k1"), started(random_key(300)), started("k2")):
            journal.put(event)
        await eventually(lambda: "k1" in journal_ids(sessions))
        await asyncio.sleep(0.2)  # a few retries
        assert journal.pending == 2  # the refused event and the one after it: kept
        assert journal.stats().dead_letters == 0
        blocker.unlink()  # the disk is writable again
        await asyncio.wait_for(journal.flush(), 10)
    assert journal_ids(sessions) == {"k1", "k2"}
    assert len(spill.read_text(encoding="ascii").splitlines()) == 1
    assert journal.stats().dead_letters == 1

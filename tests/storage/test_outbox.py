"""The storage outbox: events on disk before put() returns, replayed by the next process,
applied once (the database's delivery mark), bounded (a full outbox drops and counts)."""

import asyncio
import json
import logging
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.events import codec
from ivr.events.model import (
    AgentChanged,
    CallbackRequested,
    CallRouted,
    CallStarted,
    Event,
    MeterReadingSubmitted,
    WaitPredicted,
)
from ivr.storage.batch import BatchWriter, Outbox, Tuning
from ivr.storage.journal import CallJournal
from ivr.storage.marks import Marks
from ivr.storage.models import MeterReadingRecord
from ivr.storage.reports import ReportEvent, ReportWriter, write_reports
from ivr.storage.repository import JournalRepository
from ivr.storage.spool import Spool
from ivr.tasks import TaskSet

FAST = Tuning(quiet=0.01, max_delay=0.05, retry_initial=0.01, retry_max=0.05)


def reading(n: int) -> MeterReadingSubmitted:
    return MeterReadingSubmitted(f"c{n}", "0800", "+380441234567", "12345", None, f"{n:05d}")


def readings_in(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(MeterReadingRecord.reading)).all())


class Down:
    """A session factory for a database that is down until `up` is set."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.up = False
        self.refused = 0

    def __call__(self) -> Session:
        if not self.up:
            self.refused += 1
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.sessions()


# --- the codec -----------------------------------------------------------------------------


def test_every_event_class_round_trips() -> None:
    at = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)
    samples: list[Event] = [
        CallRouted("r1", "0800", "+38044\x00ü", "first_line", "new", 5, ("main:1", "x:2"), at),
        CallbackRequested("c1", "0800", "+380", "Петро", "q", "new", at, at, waiting_since=None),
        AgentChanged("a1", "q", "paused", "lunch", at),
        WaitPredicted("w1", "q", 3, 0, 2, 95.5, None, 20.0, at),
        WaitPredicted("w2", "q", 1, 1, 0, 180.0, 0.0, 20.0, at),
    ]
    for event in samples:
        assert codec.loads(codec.dumps(event)) == event
    assert set(codec.EVENT_CLASSES) == {
        cls.__name__
        for cls in Event.__args__  # type: ignore[attr-defined]
    }


def test_an_unknown_or_broken_event_is_refused() -> None:
    with pytest.raises(codec.EventDecodeError, match="not an event class"):
        codec.loads('{"event": "Nope"}')
    with pytest.raises(codec.EventDecodeError, match="CallStarted"):
        codec.loads('{"event": "CallStarted", "call_id": "x", "at": "yesterday"}')


# --- the spool on its own ------------------------------------------------------------------


def test_an_abandoned_spool_is_replayed_from_where_delivery_stopped(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "reports", 1 << 20, fsync_interval=0)
    assert spool.open() == []
    seqs = [spool.append(reading(n)) for n in range(10)]
    assert seqs == list(range(1, 11))
    spool.delivered(4)
    # a crash: no close(), the object is simply dropped
    del spool

    again = Spool(tmp_path, "reports", 1 << 20)
    replay = again.open()
    assert [seq for seq, _ in replay] == list(range(5, 11))
    assert [e.reading for _, e in replay] == [f"{n:05d}" for n in range(4, 10)]  # type: ignore[union-attr]
    assert again.append(reading(10)) == 11  # numbering goes on
    assert again.stats().rows == 7


def test_delivered_segments_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "journal", 8 * 64 * 1024)  # 64 KiB segments
    spool.open()
    last = 0
    for n in range(2000):  # about 300 KB: several segments
        seq = spool.append(reading(n))
        assert seq is not None
        last = seq
    segments = sorted(spool.directory.glob("*.jsonl"))
    assert len(segments) > 2
    spool.delivered(last)
    assert len(list(spool.directory.glob("*.jsonl"))) == 1  # the open one
    stats = spool.stats()
    assert stats.rows == 0 and stats.oldest_age is None
    spool.close()
    assert Spool(tmp_path, "journal", 1 << 20).open() == []


def test_a_full_spool_drops_new_events_counts_them_and_never_blocks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    spool = Spool(tmp_path, "reports", 2000, clock=lambda: now[0])
    spool.open()
    with caplog.at_level(logging.ERROR, logger="ivr.storage.spool"):
        results = [spool.append(reading(n)) for n in range(100)]
    kept = [seq for seq in results if seq is not None]
    assert 0 < len(kept) < 100 and results[len(kept)] is None
    now[0] = 1042.5
    stats = spool.stats()
    assert stats.rows == len(kept)
    assert stats.dropped == 100 - len(kept)
    assert stats.bytes <= 2000
    assert stats.oldest_age == pytest.approx(42.5)
    assert any("full" in r.getMessage() for r in caplog.records)
    spool.delivered(kept[-1])  # the database is back: room again
    assert spool.append(reading(100)) == kept[-1] + 1


def test_a_torn_last_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, "reports", 1 << 20)
    spool.open()
    spool.append(reading(1))
    spool.close()
    segment = next(spool.directory.glob("*.jsonl"))
    with segment.open("a", encoding="ascii") as f:
        f.write('{"seq":2,"at":1.0,"event":{"event":"Meter')  # a power loss mid-line
    with caplog.at_level(logging.ERROR, logger="ivr.storage.spool"):
        replay = Spool(tmp_path, "reports", 1 << 20).open()
    assert [seq for seq, _ in replay] == [1]
    assert any("line 2 unreadable" in r.getMessage() for r in caplog.records)


def test_append_is_on_disk_before_it_returns(tmp_path: Path) -> None:
    """What kill -9 leaves: the file as another process reads it, without close/fsync."""
    spool = Spool(tmp_path, "journal", 1 << 20, fsync_interval=60)
    spool.open()
    event = reading(7)
    spool.append(event)
    lines = next(spool.directory.glob("*.jsonl")).read_text(encoding="ascii").splitlines()
    assert codec.decode(json.loads(lines[0])["event"]) == event


# --- writers with an outbox and a database -------------------------------------------------


def report_writer(sessions: sessionmaker[Session] | Down, spool_dir: Path) -> ReportWriter:
    marks = Marks(sessions)
    return ReportWriter(sessions, FAST, outbox=Outbox(Spool(spool_dir, "reports", 1 << 20), marks))


async def test_a_writer_killed_while_the_database_was_down_loses_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    down = Down(sessions)
    writer = report_writer(down, tmp_path)
    tasks = TaskSet("first")
    tasks.spawn(writer.run())
    for n in range(50):
        writer(reading(n))
    await asyncio.sleep(0.2)
    assert down.refused > 0 and writer.pending == 50
    await tasks.cancel_all()  # killed: no stop(), no flush, no close

    down.up = True
    again = report_writer(down, tmp_path)
    tasks = TaskSet("second")
    tasks.spawn(again.run())
    again(reading(50))
    await asyncio.wait_for(again.flush(), 10)
    await again.stop()
    await tasks.cancel_all()
    assert readings_in(sessions) == [f"{n:05d}" for n in range(51)]
    stats = again.stats().outbox
    assert stats is not None and stats.rows == 0


async def test_a_crash_between_commit_and_the_local_mark_applies_nothing_twice(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    writer = report_writer(sessions, tmp_path)
    tasks = TaskSet("first")
    tasks.spawn(writer.run())
    for n in range(30):
        writer(reading(n))
    await asyncio.wait_for(writer.flush(), 10)
    on_disk = tmp_path / "at-the-kill"
    shutil.copytree(tmp_path / "reports", on_disk)  # what kill -9 leaves (no close)
    await tasks.cancel_all()
    shutil.rmtree(tmp_path / "reports")
    on_disk.rename(tmp_path / "reports")
    # as if killed after the commit, before the local 'delivered' file was replaced
    (tmp_path / "reports" / "delivered").write_text("0", encoding="ascii")

    again = report_writer(sessions, tmp_path)
    tasks = TaskSet("second")
    tasks.spawn(again.run())
    again(reading(30))
    await asyncio.wait_for(again.flush(), 10)
    await again.stop()
    await tasks.cancel_all()
    assert readings_in(sessions) == [f"{n:05d}" for n in range(31)]


async def test_a_commit_whose_answer_was_lost_is_not_written_again(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    marks = Marks(sessions)
    answers_lost = [1]

    def write(events: Sequence[ReportEvent]) -> None:
        write_reports(marks.sessions, events)  # committed, mark included
        if answers_lost[0]:
            answers_lost[0] -= 1
            raise OperationalError("commit", {}, ConnectionResetError("connection lost"))

    outbox = Outbox(Spool(tmp_path, "reports", 1 << 20), marks)
    writer: BatchWriter[ReportEvent] = BatchWriter("reports", write, FAST, outbox=outbox)
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(20):
        writer.put(reading(n))
    await asyncio.wait_for(writer.flush(), 10)
    await writer.stop()
    await tasks.cancel_all()
    assert answers_lost == [0]
    assert readings_in(sessions) == [f"{n:05d}" for n in range(20)]


async def test_the_journal_keeps_routed_calls_across_a_kill(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    down = Down(sessions)

    def journal() -> CallJournal:
        return CallJournal(
            down, FAST, outbox=Outbox(Spool(tmp_path, "journal", 1 << 20), Marks(down))
        )

    first = journal()
    for n in range(40):
        first(CallStarted(f"k{n}", "0800", "+380", "Local/x"))
        first(CallRouted(f"k{n}", "0800", "+380", "first_line", "new", 5, ("main:1",)))
    del first  # killed before its writer ever ran

    down.up = True
    second = journal()
    tasks = TaskSet("test")
    tasks.spawn(second.run())
    await asyncio.wait_for(second.flush(), 10)
    await second.stop()
    await tasks.cancel_all()
    rows = JournalRepository(sessions).recent(limit=100)
    assert sorted(r.call_id for r in rows) == sorted(f"k{n}" for n in range(40))
    assert all(r.queue == "first_line" and r.routed_at is not None for r in rows)


def test_settings_for_the_outbox(tmp_path: Path) -> None:
    from ivr.config import ConfigError, load_settings

    settings = load_settings(env={"IVR_VAR_DIR": str(tmp_path)})
    assert settings.resolved_outbox_dir() == tmp_path / "outbox"
    settings = load_settings(env={"IVR_OUTBOX_DIR": "/x", "IVR_OUTBOX_MAX_BYTES": "1000"})
    assert (settings.resolved_outbox_dir(), settings.outbox_max_bytes) == (Path("/x"), 1000)
    with pytest.raises(ConfigError, match="outbox_max_bytes"):
        load_settings(env={"IVR_OUTBOX_MAX_BYTES": "0"})
    with pytest.raises(ConfigError, match="outbox_fsync_interval"):
        load_settings(env={"IVR_OUTBOX_FSYNC_INTERVAL": "-1"})

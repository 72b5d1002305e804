"""The generic batch writer (no database): batching, quiet period, max delay, retries, the
search for refused items, and which errors count as refusals."""

import asyncio
import json
import sqlite3
from collections.abc import Sequence

import psycopg
import pytest
from sqlalchemy.exc import DataError as SaDataError
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as SaTimeoutError

from ivr.storage.batch import BatchWriter, Tuning
from ivr.storage.dead_letters import DeadLetter, about_the_data
from ivr.storage.limits import TooLong
from ivr.tasks import TaskSet


class Recorder:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[tuple[int, ...]] = []
        self.failures = failures
        self.attempts = 0

    def __call__(self, batch: Sequence[int]) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("down")
        self.batches.append(tuple(batch))


async def test_a_burst_becomes_one_batch_after_the_quiet_period() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, Tuning(quiet=0.05, max_delay=5))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    await asyncio.sleep(0)  # the writer now waits for work
    for n in range(10):
        writer.put(n)
        await asyncio.sleep(0.005)  # events keep coming: the writer waits
    assert write.batches == []
    await asyncio.sleep(0.2)
    assert write.batches == [tuple(range(10))]
    await writer.stop()
    await tasks.cancel_all()


async def test_max_delay_bounds_the_wait_in_an_endless_stream() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, Tuning(quiet=0.05, max_delay=0.1))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(40):  # a steady stream, never quiet for 50 ms, for about 0.4 s
        writer.put(n)
        await asyncio.sleep(0.01)
    assert len(write.batches) >= 2
    await writer.stop()
    assert [n for batch in write.batches for n in batch] == list(range(40))
    await tasks.cancel_all()


async def test_batches_are_bounded_and_retried_in_order() -> None:
    write = Recorder(failures=2)
    writer = BatchWriter("test", write, Tuning(batch_size=4, quiet=10, retry_initial=0.01))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(10):
        writer.put(n)
    await asyncio.wait_for(writer.flush(), 2)
    assert write.batches == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9)]
    assert write.attempts == 5 and writer.pending == 0
    await writer.stop()
    await tasks.cancel_all()


async def test_flush_does_not_wait_for_the_quiet_period() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, Tuning(quiet=10, max_delay=30))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in range(3):
        writer.put(n)
    await asyncio.wait_for(writer.flush(), 1)
    assert write.batches == [(0, 1, 2)]
    await asyncio.wait_for(writer.stop(), 1)
    await tasks.cancel_all()


class Refusing:
    """A database that refuses any batch holding a negative number (ValueError: the data)
    and is down (ConnectionError) for the writes numbered in `down_on`."""

    def __init__(self, down_on: frozenset[int] = frozenset()) -> None:
        self.written: list[int] = []
        self.attempts = 0
        self.down_on = down_on

    def __call__(self, batch: Sequence[int]) -> None:
        self.attempts += 1
        if self.attempts in self.down_on:
            raise ConnectionError("database is down")
        if any(n < 0 for n in batch):
            raise ValueError("negative")
        self.written.extend(batch)


class Sink:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def keep(self, letters: Sequence[DeadLetter]) -> str:
        self.letters.extend(letters)
        return "the test sink"


async def test_the_refused_items_are_found_and_the_others_written_in_order() -> None:
    write, sink = Refusing(), Sink()
    writer = BatchWriter("test", write, Tuning(batch_size=1024, quiet=10), dead_letters=sink)
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    items = list(range(1000))
    items[137], items[800] = -137, -800
    for n in items:
        writer.put(n)
    await asyncio.wait_for(writer.flush(), 2)
    assert write.written == [n for n in items if n >= 0]
    assert [json.loads(letter.row)["value"] for letter in sink.letters] == ["-137", "-800"]
    assert {letter.error for letter in sink.letters} == {"ValueError: negative"}
    assert write.attempts < 50  # a search in halves, not one write per item
    stats = writer.stats()
    assert (stats.backlog, stats.dead_letters, stats.last_dead_letter_error) == (
        0,
        2,
        "ValueError: negative",
    )
    await writer.stop()
    await tasks.cancel_all()


async def test_an_outage_during_the_search_loses_and_repeats_nothing() -> None:
    """The database goes away in the middle of the search: the part already written stays
    written, the rest is retried (not set aside), and the search ends the same."""
    write, sink = Refusing(down_on=frozenset({3, 4})), Sink()
    writer = BatchWriter(
        "test", write, Tuning(batch_size=64, quiet=10, retry_initial=0.01), dead_letters=sink
    )
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    items = [*range(10), -1, *range(10, 20)]
    for n in items:
        writer.put(n)
    await asyncio.wait_for(writer.flush(), 2)
    assert write.written == [n for n in items if n >= 0]  # each once, in order
    assert len(sink.letters) == 1 and writer.pending == 0
    await writer.stop()
    await tasks.cancel_all()


async def test_without_a_dead_letter_store_a_refused_batch_is_retried() -> None:
    write = Refusing()
    writer = BatchWriter("test", write, Tuning(quiet=10, retry_initial=0.01))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    for n in (1, -1, 2):
        writer.put(n)
    await asyncio.sleep(0.1)
    assert write.written == [] and writer.pending == 3 and write.attempts > 1
    await writer.stop(timeout=0.05)
    await tasks.cancel_all()


def pg_error(error: type[psycopg.Error], wrapper: type[DBAPIError]) -> DBAPIError:
    return wrapper("INSERT ...", {}, error("refused"))


@pytest.mark.parametrize(
    ("exc", "data"),
    [
        # PostgreSQL: the SQLSTATE class decides, whatever class psycopg files it under
        (pg_error(psycopg.errors.ProgramLimitExceeded, OperationalError), True),  # 54000
        (pg_error(psycopg.errors.NumericValueOutOfRange, SaDataError), True),  # 22003
        (pg_error(psycopg.errors.UniqueViolation, IntegrityError), True),  # 23505
        (pg_error(psycopg.errors.NotNullViolation, IntegrityError), True),  # 23502
        (pg_error(psycopg.errors.AdminShutdown, OperationalError), False),  # 57P01
        (pg_error(psycopg.errors.UndefinedTable, ProgrammingError), False),  # 42P01
        (pg_error(psycopg.errors.SerializationFailure, OperationalError), False),  # 40001
        (pg_error(psycopg.errors.QueryCanceled, OperationalError), False),  # 57014: timeout
        (OperationalError("connect", {}, psycopg.OperationalError("connection refused")), False),
        (InterfaceError("x", {}, psycopg.InterfaceError("the connection is closed")), False),
        # SQLite
        (IntegrityError("x", {}, sqlite3.IntegrityError("NOT NULL constraint failed")), True),
        (OperationalError("x", {}, sqlite3.OperationalError("database is locked")), False),
        (OperationalError("x", {}, sqlite3.OperationalError("unable to open database")), False),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), True),
        # refused before the database: the model, the limits
        (StatementError("bind", "INSERT ...", {}, ValueError("naive datetime")), True),
        (TooLong("call_id: 3000 characters, at most 200"), True),
        # no database answer at all
        (ConnectionRefusedError(), False),
        (TimeoutError(), False),
        (SaTimeoutError("QueuePool limit reached"), False),
    ],
    ids=repr,
)
def test_data_refusals_are_told_apart_from_outages(exc: BaseException, data: bool) -> None:
    assert about_the_data(exc) is data

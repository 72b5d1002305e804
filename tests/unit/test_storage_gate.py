"""The storage gate: a blocking store call that hangs, fails or answers, without a database
(a thread waiting on an event is a frozen database)."""

import asyncio
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from ivr.storage.directory import StoreDirectory
from ivr.storage.gate import DatabaseUnavailable, GuardedDirectory, StorageGate
from ivr.storage.guards import DatabaseProbe
from ivr.storage.health import DatabaseState

TIMEOUT = 0.2
WORKERS = 2


class FrozenDb:
    """A blocking call that hangs until `thaw()`."""

    def __init__(self) -> None:
        self.thawed = threading.Event()
        self.calls = 0

    def read(self, value: str = "row") -> str:
        self.calls += 1
        self.thawed.wait(10)
        return value

    def thaw(self) -> None:
        self.thawed.set()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frozen() -> Iterator[FrozenDb]:
    db = FrozenDb()
    yield db
    db.thaw()  # free the gate's threads


def refused() -> None:
    raise OperationalError("SELECT 1", {}, Exception("connection refused"))


def incident_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ivr.storage.health"]


async def test_a_frozen_database_times_out_then_fails_at_once_and_recovers(
    frozen: FrozenDb, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    state = DatabaseState()
    gate = StorageGate("calls", WORKERS, TIMEOUT, state)

    for _ in range(WORKERS):  # each hangs a thread, then gives up after the timeout
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            await gate.run(frozen.read)
        assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 0.2
    assert not state.up and gate.busy == WORKERS

    started = time.monotonic()  # every thread hung, the database known down: at once
    for _ in range(50):
        with pytest.raises(DatabaseUnavailable):
            await gate.run(frozen.read)
    assert time.monotonic() - started < 0.1
    assert frozen.calls == WORKERS  # no thread more, nothing queued behind the hung ones

    frozen.thaw()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if gate.busy == 0:
            break
    assert await gate.run(frozen.read, "back") == "back"
    assert state.up
    logs = incident_logs(caplog)
    assert len(logs) == 2, logs  # one line when it stopped answering, one when it came back
    assert logs[0].startswith("database unavailable (calls: no answer within 0.2 s)")
    assert logs[1].startswith("database answers again after")
    gate.close()


async def test_refused_is_unavailable_and_data_errors_pass_through() -> None:
    state = DatabaseState()
    gate = StorageGate("api", WORKERS, TIMEOUT, state)
    with pytest.raises(DatabaseUnavailable) as caught:
        await gate.run(refused)
    assert isinstance(caught.value.__cause__, OperationalError)
    assert not state.up

    def duplicate() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    def bad_input() -> None:
        raise ValueError("area: must not be empty")

    with pytest.raises(ValueError):  # refused before the database: says nothing about it
        await gate.run(bad_input)
    assert not state.up
    with pytest.raises(IntegrityError):  # the database answered: the data is wrong
        await gate.run(duplicate)
    assert state.up
    gate.close()


async def test_more_calls_than_workers_wait_for_a_thread_while_the_database_answers() -> None:
    gate = StorageGate("calls", WORKERS, 2.0, DatabaseState())

    def quick(n: int) -> int:
        time.sleep(0.01)
        return n

    results = await asyncio.gather(*(gate.run(quick, n) for n in range(40)))
    assert results == list(range(40))
    assert gate.busy == 0
    gate.close()


async def test_the_call_path_directory_gives_unknown_caller_and_no_outage(
    frozen: FrozenDb,
) -> None:
    class HungStore(StoreDirectory):
        def __init__(self) -> None:
            pass

        def find_by_phone(self, phone: str) -> None:
            frozen.read()

        def find_by_contract(self, contract: str) -> None:
            refused()

        def find_active_outage(self, area: str, service: str, at: datetime) -> None:
            frozen.read()

    directory = GuardedDirectory(
        HungStore(), StorageGate("calls", WORKERS, TIMEOUT, DatabaseState())
    )
    assert await directory.subscriber_by_phone("380441234567") is None
    assert await directory.subscriber_by_contract("10000001") is None
    assert await directory.active_outage("Kyiv", "", datetime.now(UTC)) is None


def test_the_state_reports_the_incident_and_the_last_error_age() -> None:
    clock = Clock()
    state = DatabaseState(clock)
    assert state.status().as_dict() == {
        "database": "ok",
        "failures": 0,
        "last_error": None,
        "last_error_age_seconds": None,
        "down_for_seconds": None,
    }
    state.failed("api", "OperationalError: connection refused")
    clock.now += 3
    state.failed("calls", "no answer within 1.5 s")
    clock.now += 2
    assert state.status().as_dict() == {
        "database": "unavailable",
        "failures": 2,
        "last_error": "calls: no answer within 1.5 s",
        "last_error_age_seconds": 2.0,
        "down_for_seconds": 5.0,
    }
    state.succeeded()
    clock.now += 10
    status = state.status()
    assert status.up and status.down_for is None and status.last_error_age == 12.0


async def test_the_probe_follows_the_database(frozen: FrozenDb) -> None:
    state = DatabaseState()
    gate = StorageGate("probe", 1, TIMEOUT, state)
    probe = DatabaseProbe(gate.run, refused, interval=0.05)
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.1)
    assert not state.up
    task.cancel()
    probe = DatabaseProbe(gate.run, lambda: None, interval=0.05)
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.1)
    assert state.up
    task.cancel()
    gate.close()


async def test_while_the_database_is_known_down_a_call_waits_only_briefly(
    frozen: FrozenDb,
) -> None:
    state = DatabaseState()
    gate = StorageGate("api", WORKERS, 5.0, state, down_timeout=TIMEOUT)
    state.failed("calls", "no answer within 1.5 s")  # the call path found it down
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        await gate.run(frozen.read)
    assert time.monotonic() - started < TIMEOUT + 0.2
    gate.close()


HUNG_AT_EXIT = """
import asyncio, threading
from ivr.storage.gate import DatabaseUnavailable, StorageGate
from ivr.storage.health import DatabaseState

async def main():
    gate = StorageGate("calls", 2, 0.1, DatabaseState())
    try:
        await gate.run(threading.Event().wait)  # a database that never answers
    except DatabaseUnavailable:
        print("gave up")
    gate.close()

asyncio.run(main())
"""


def test_a_thread_hung_on_the_database_does_not_hold_up_the_exit() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", HUNG_AT_EXIT], capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stdout.strip()) == (0, "gave up"), done.stderr
    assert time.monotonic() - started < 10

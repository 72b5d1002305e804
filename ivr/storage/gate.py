"""Blocking storage calls from async code, without ever waiting long on the database.

`StorageGate.run` runs a blocking store call on the gate's own bounded thread pool (a
frozen database can hang its threads, never the loop's default executor) and gives up
after `timeout` seconds with DatabaseUnavailable, as it does for a refused connection or
a server-side timeout. Every outcome feeds the DatabaseState. While the database is known
to be down a call waits only `down_timeout`, and while every thread of the gate is still
hung on it, a call fails at once.

`GuardedDirectory` is the call path's Directory: a read the database cannot answer in time
gives the defined result (unknown caller, no outage) and the caller goes on.
"""

import asyncio
import functools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.storage.dead_letters import brief
from ivr.storage.directory import StoreDirectory
from ivr.storage.health import DatabaseState
from ivr.subscribers import Outage, Subscriber

log = logging.getLogger(__name__)

T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database did not answer (refused, timed out, connection lost)."""


def is_unavailable(exc: BaseException) -> bool:
    """An error that says the database is not answering, not that the data is wrong."""
    if isinstance(exc, DatabaseUnavailable | OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


Job = tuple["Future[Any]", Callable[[], Any]]


class DaemonThreads:
    """A small thread pool of daemon threads: unlike ThreadPoolExecutor's, a thread hung on
    a frozen database does not hold up the process's exit."""

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], Any]) -> "Future[Any]":
        future: Future[Any] = Future()
        self._jobs.put((future, call))
        with self._lock:
            if len(self._threads) < self._workers:
                name = f"{self._name}-{len(self._threads)}"
                thread = threading.Thread(target=self._work, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self) -> None:
        """Idle threads end; a hung one ends when its call returns (or with the process)."""
        for _ in self._threads:
            self._jobs.put(None)


class StorageGate:
    def __init__(
        self,
        name: str,
        workers: int,
        timeout: float,
        state: DatabaseState,
        down_timeout: float | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.down_timeout = timeout if down_timeout is None else min(timeout, down_timeout)
        self._workers = workers
        self._state = state
        self._pool = DaemonThreads(workers, f"db-{name}")
        self._slots = asyncio.Semaphore(workers)
        self.busy = 0  # threads running a call now (hung ones included)

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._state.up and self.busy >= self._workers:
            raise DatabaseUnavailable(f"database unavailable ({self.name}: every worker hung)")
        timeout = self.timeout if self._state.up else self.down_timeout  # known down: brief
        try:
            async with asyncio.timeout(timeout) as deadline:
                await self._slots.acquire()
                self.busy += 1
                future = asyncio.wrap_future(
                    self._pool.submit(functools.partial(call, *args, **kwargs))
                )
                future.add_done_callback(self._release)
                result: T = await asyncio.shield(future)
        except TimeoutError:
            if not deadline.expired():
                raise
            self._state.failed(self.name, f"no answer within {timeout:g} s")
            raise DatabaseUnavailable(f"database unavailable ({self.name}: timed out)") from None
        except Exception as exc:
            if not is_unavailable(exc):
                if isinstance(exc, DBAPIError):
                    self._state.succeeded()  # it answered: the data was wrong
                raise  # refused before or after the database (bad input): says nothing
            self._state.failed(self.name, brief(exc))
            raise DatabaseUnavailable(f"database unavailable ({self.name})") from exc
        self._state.succeeded()
        return result

    def _release(self, future: "asyncio.Future[Any] | Future[Any]") -> None:
        """A thread is free again (also one whose caller gave up on it long ago)."""
        self.busy -= 1
        self._slots.release()
        if not future.cancelled():
            future.exception()  # retrieved: a late failure is not "never retrieved"

    def close(self) -> None:
        """Let the threads end; hung ones are left behind (they end with the process)."""
        self._pool.shutdown()


class GuardedDirectory:
    """The subscriber directory and outage board for the call path (flow Directory)."""

    def __init__(self, store: StoreDirectory, gate: StorageGate) -> None:
        self._store = store
        self._gate = gate

    async def subscriber_by_phone(self, phone: str) -> Subscriber | None:
        return await self._read(self._store.find_by_phone, phone)

    async def subscriber_by_contract(self, contract: str) -> Subscriber | None:
        return await self._read(self._store.find_by_contract, contract)

    async def active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        return await self._read(self._store.find_active_outage, area, service, at)

    async def _read(self, call: Callable[..., T | None], *args: Any) -> T | None:
        """None when the database cannot answer (the state logs the incident once)."""
        try:
            return await self._gate.run(call, *args)
        except DatabaseUnavailable:
            return None
        except Exception as exc:  # the data: go on as if not found
            log.warning("%s: not read, taken as not found: %s", call.__name__, brief(exc))
            return None

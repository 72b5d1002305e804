"""Writing off the call path: queue items in memory, write them in batches in a worker
thread, retry with backoff on errors, flush and stop. Used by the call journal and the
report writer; what a batch means (merge, insert) is the `write` function's business."""

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError

T = TypeVar("T")


def clean_text(value: str) -> str | None:
    """Text from an event, ready to store. Empty means unknown (None). NUL and lone
    surrogates would make the database refuse the whole batch: dropped/replaced here."""
    clean = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return clean or None


def as_utc(at: datetime) -> datetime:
    """An event time in UTC (a naive one is taken as UTC rather than refused)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def brief(exc: BaseException) -> str:
    """One line, without the SQL and parameters (caller numbers) SQLAlchemy adds."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


@dataclass(frozen=True)
class Tuning:
    """How a BatchWriter batches: at most `batch_size` items a batch; a batch is written
    once items stop arriving for `quiet` seconds, or `max_delay` after the first; a failed
    batch is retried after `retry_initial` seconds, doubling up to `retry_max`."""

    batch_size: int = 5000
    quiet: float = 0.2
    max_delay: float = 5.0
    retry_initial: float = 0.5
    retry_max: float = 30.0


class BatchWriter(Generic[T]):
    """Run `run()` as a background task; `put()` only appends to an in-memory queue.

    `run()` hands batches to `write` (blocking, called in a worker thread: one batch, one
    transaction). On an error it keeps the batch and retries with exponential backoff, so
    nothing is lost while the process lives (the queue is unbounded; `pending` shows the
    backlog). Used from the event loop's thread.
    """

    def __init__(
        self,
        name: str,
        write: Callable[[Sequence[T]], None],
        tuning: Tuning = Tuning(),
        *,
        log: logging.Logger | None = None,
    ) -> None:
        self._name = name
        self._write = write
        self._log = log or logging.getLogger(__name__)
        self._tuning = tuning
        self._queue: deque[T] = deque()
        self._batch: list[T] = []  # taken from the queue, not written yet
        self._enqueued = 0
        self._written = 0
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._done = asyncio.Event()
        self._running = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def pending(self) -> int:
        """Items received and not yet written."""
        return self._enqueued - self._written

    def put(self, item: T) -> None:
        self._queue.append(item)
        self._enqueued += 1
        self._wakeup.set()

    async def run(self) -> None:
        if self._running or self._done.is_set():
            raise RuntimeError(f"{self._name}: run(): already running or ended")
        self._running = True
        try:
            await self._write_until_stopped()
        finally:
            self._running = False
            self._done.set()
            self._settle()
            if self.pending:
                self._log.error("%s: ended with %d events not written", self._name, self.pending)

    async def flush(self) -> None:
        """Wait until every item received so far is written (run() must be running)."""
        target = self._enqueued
        if self._written >= target:
            return
        if self._done.is_set():
            raise RuntimeError(self._lost_message())
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        await waiter

    async def stop(self, timeout: float | None = 10.0) -> None:
        """Flush, then end run(). If the database stays unavailable for `timeout` seconds,
        stop anyway (logging what is lost) so that shutdown cannot hang."""
        if self._running:
            try:
                await asyncio.wait_for(self.flush(), timeout)
            except TimeoutError:
                self._log.error("%s: stop: %d events still not written", self._name, self.pending)
        self._stop_requested.set()
        self._wakeup.set()
        if self._running:
            await self._done.wait()

    async def _write_until_stopped(self) -> None:
        delay, failures = self._tuning.retry_initial, 0
        while True:
            while self._queue and len(self._batch) < self._tuning.batch_size:
                self._batch.append(self._queue.popleft())
            if not self._batch:
                if self._stop_requested.is_set():
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                await self._gather()
                continue
            batch = tuple(self._batch)
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as exc:
                failures += 1
                if self._stop_requested.is_set():
                    self._log.error("%s: stopping, last write failed: %s", self._name, brief(exc))
                    return
                self._log_failure(exc, len(batch), failures, delay)
                await self._pause(delay)
                delay = min(delay * 2, self._tuning.retry_max)
                continue
            if failures:
                self._log.warning(
                    "%s: written again after %d failed attempts", self._name, failures
                )
            delay, failures = self._tuning.retry_initial, 0
            self._written += len(batch)
            del self._batch[: len(batch)]
            self._settle()

    def _log_failure(self, exc: Exception, size: int, failures: int, delay: float) -> None:
        if not isinstance(exc, SQLAlchemyError):
            self._log.exception("%s: unexpected error writing %d events", self._name, size)
        level = logging.ERROR if failures == 1 else logging.WARNING
        self._log.log(
            level,
            "%s: writing %d events failed (attempt %d, %d pending), retry in %.1fs: %s",
            self._name,
            size,
            failures,
            self.pending,
            delay,
            brief(exc),
        )

    async def _gather(self) -> None:
        """Let a batch build up: write once items pause for `quiet` seconds, the batch is
        full, `max_delay` has passed, or someone waits (flush, stop). In a call burst the
        database work so runs after the burst, not between the calls' AGI replies, and in
        fewer, larger transactions."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._tuning.max_delay
        while len(self._queue) < self._tuning.batch_size and not self._waiters:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stop_requested.is_set():
                return
            seen = self._enqueued
            await self._pause(min(self._tuning.quiet, remaining))
            if self._enqueued == seen:
                return

    async def _pause(self, delay: float) -> None:
        """Back off before a retry; stop() cuts it short."""
        try:
            await asyncio.wait_for(self._stop_requested.wait(), delay)
        except TimeoutError:
            pass

    def _lost_message(self) -> str:
        return f"{self._name} ended with {self.pending} events not written"

    def _settle(self) -> None:
        """Release the flush() waiters whose items are written (or can no longer be)."""
        waiting = []
        for target, waiter in self._waiters:
            if waiter.done():
                continue
            if self._written >= target:
                waiter.set_result(None)
            elif self._done.is_set():
                waiter.set_exception(RuntimeError(self._lost_message()))
            else:
                waiting.append((target, waiter))
        self._waiters = waiting

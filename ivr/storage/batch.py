"""Writing off the call path: queue items in memory, write them in batches in a worker
thread, retry with backoff on errors, flush and stop. Used by the call journal, the report
writer and the agent log; what a batch means (merge, insert) is the `write` function's
business.

A batch the database refuses because of its data (ivr.storage.dead_letters.about_the_data)
is split in halves, in order, until the refused items are found: the others are written,
the refused ones go to the dead-letter store, and later batches flow on. Any other error
(the database gone, busy, timing out) keeps the batch and retries it: nothing is lost.

With an outbox (ivr.storage.spool), `put` also writes each item to local disk before it
returns, and a new writer replays what an earlier process left undelivered; the database
records the last item applied in the same transaction (ivr.storage.marks), and the writer
skips what it holds before its first write and after any failed one: nothing twice.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ivr.storage.dead_letters import DeadLetter, about_the_data, as_json
from ivr.storage.dead_letters import brief as brief  # re-exported: the web side logs with it
from ivr.storage.marks import Marks
from ivr.storage.spool import Spool, SpoolStats

T = TypeVar("T")


def clean_text(value: str) -> str | None:
    """Text from an event, ready to store. Empty means unknown (None). NUL and lone
    surrogates would make the database refuse the whole batch: dropped/replaced here."""
    clean = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return clean or None


def as_utc(at: datetime) -> datetime:
    """An event time in UTC (a naive one is taken as UTC rather than refused)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class DeadLetterSink(Protocol):
    """Where refused items go (ivr.storage.dead_letters.DeadLetterStore); blocking."""

    def keep(self, letters: Sequence[DeadLetter]) -> str: ...


@dataclass(frozen=True)
class WriterStats:
    """What /health and /metrics show of a writer: its backlog (items received and not
    yet written or set aside), the items set aside as dead letters since start, and its
    outbox on disk (None without one)."""

    backlog: int
    dead_letters: int
    last_dead_letter_at: datetime | None
    last_dead_letter_error: str | None
    outbox: SpoolStats | None = field(default=None)


@dataclass(frozen=True)
class Outbox:
    """A writer's local outbox (items on disk first) and the database's delivery marks.
    The writer's `write` must open its sessions with `marks.sessions`."""

    spool: Spool
    marks: Marks


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
    transaction). When the data is refused and a `dead_letters` sink is given, it sets the
    refused items aside there (see the module doc); on any other error it keeps the batch
    and retries with exponential backoff, so nothing is lost while the process lives (the
    queue is unbounded; `pending` shows the backlog). Used from the event loop's thread.
    """

    def __init__(
        self,
        name: str,
        write: Callable[[Sequence[T]], None],
        tuning: Tuning = Tuning(),
        *,
        log: logging.Logger | None = None,
        dead_letters: DeadLetterSink | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self._name = name
        self._outbox = outbox
        self._write = write
        self._dead_letters = dead_letters
        self._set_aside = 0
        self._last_dead_letter: DeadLetter | None = None
        self._log = log or logging.getLogger(__name__)
        self._tuning = tuning
        # (seq, item): the item's number in the outbox (None: not in one)
        self._queue: deque[tuple[int | None, T]] = deque()
        self._batch: list[tuple[int | None, T]] = []  # taken from the queue, not written yet
        self._enqueued = 0
        self._written = 0
        self._confirmed = outbox is None  # the database's mark read since the last failure
        self._applied = 0  # the database's mark: outbox items up to it are applied
        self._sent = 0  # the last outbox item handed to `write` (its commit may be done)
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._done = asyncio.Event()
        self._running = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._opened = outbox is None

    @property
    def name(self) -> str:
        return self._name

    @property
    def pending(self) -> int:
        """Items received and not yet written (or set aside as dead letters)."""
        return self._enqueued - self._written

    def stats(self) -> WriterStats:
        last = self._last_dead_letter
        return WriterStats(
            backlog=self.pending,
            dead_letters=self._set_aside,
            last_dead_letter_at=last.at if last else None,
            last_dead_letter_error=last.error if last else None,
            outbox=self._outbox.spool.stats() if self._outbox else None,
        )

    def put(self, item: T) -> bool:
        """Queue `item`; with an outbox, write it to disk first (a full outbox drops it:
        counted in its stats; a disk error keeps it in memory only, logged). Whether it
        is kept (on disk, when there is an outbox)."""
        seq: int | None = None
        self._open_outbox()
        if self._outbox is not None:
            try:
                seq = self._outbox.spool.append(item)  # type: ignore[arg-type]
            except OSError as exc:
                self._log.error("%s: outbox write failed, kept in memory: %s", self._name, exc)
            else:
                if seq is None:
                    return False  # the outbox is full: dropped (counted there)
        self._queue.append((seq, item))
        self._enqueued += 1
        self._wakeup.set()
        return self._outbox is None or seq is not None

    async def run(self) -> None:
        if self._running or self._done.is_set():
            raise RuntimeError(f"{self._name}: run(): already running or ended")
        self._running = True
        self._open_outbox()
        syncing = asyncio.create_task(self._outbox.spool.keep_synced()) if self._outbox else None
        try:
            await self._write_until_stopped()
        finally:
            if syncing is not None:
                syncing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await syncing
            if self._outbox is not None:
                self._outbox.spool.close()
            self._running = False
            self._done.set()
            self._settle()
            if self.pending:
                self._log.error("%s: ended with %d events not written", self._name, self.pending)

    def _open_outbox(self) -> None:
        """On the first put() or run(): open the outbox and queue what an earlier process
        left undelivered, ahead of anything new."""
        if self._opened or self._outbox is None:
            return
        self._opened = True
        for seq, item in self._outbox.spool.open():
            self._queue.append((seq, item))  # type: ignore[arg-type]  # the writer's events
            self._enqueued += 1
        self._wakeup.set()

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
                if not self._confirmed:
                    await self._read_mark()
                if self._skip_applied():
                    continue
                await self._write_sorting(batch)
            except Exception as exc:
                failures += 1
                if self._stop_requested.is_set():
                    self._log.error("%s: stopping, last write failed: %s", self._name, brief(exc))
                    return
                self._log_failure(exc, len(self._batch), failures, delay)
                self._confirmed = self._outbox is None  # a commit may have gone through
                await self._pause(delay)
                delay = min(delay * 2, self._tuning.retry_max)
                continue
            if failures:
                self._log.warning(
                    "%s: written again after %d failed attempts", self._name, failures
                )
            delay, failures = self._tuning.retry_initial, 0

    async def _read_mark(self) -> None:
        """Learn which outbox items the database holds (before the first write, and after
        a failed one: its commit may have gone through)."""
        assert self._outbox is not None
        spool, marks = self._outbox.spool, self._outbox.marks
        self._applied = await asyncio.to_thread(marks.read, spool.spool_id)
        spool.catch_up(self._applied)
        self._confirmed = True

    def _skip_applied(self) -> bool:
        """Drop the leading items the database already holds; whether any were. Only
        items an earlier process left, or this one already sent, can be there."""
        if self._outbox is None:
            return False
        sent = max(self._outbox.spool.opened_last, self._sent)
        applied = min(self._applied, sent)
        skip = 0
        for seq, _ in self._batch:
            if seq is None or seq > applied:
                break
            skip += 1
        if skip:
            self._log.warning("%s: %d events were already in the database", self._name, skip)
            self._done_with(skip)
        return skip > 0

    def _write_marked(self, batch: Sequence[tuple[int | None, T]]) -> None:
        """Write the items (worker thread); an outbox's mark commits with them."""
        items = [item for _, item in batch]
        last = max((seq for seq, _ in batch if seq is not None), default=None)
        if self._outbox is None or last is None:
            self._write(items)
            return
        self._sent = max(self._sent, last)
        with self._outbox.marks.writing(self._outbox.spool.spool_id, last):
            self._write(items)

    async def _write_sorting(
        self, batch: Sequence[tuple[int | None, T]], *, whole: bool = True
    ) -> None:
        """Write `batch`; if its data is refused, write its halves in order, down to the
        refused items, which are set aside. Items leave `_batch` as they are written or set
        aside (always a prefix of it), so after any other error, which ends the search and
        propagates, `_batch` holds exactly what is still to be written."""
        try:
            await asyncio.to_thread(self._write_marked, batch)
        except Exception as exc:
            if self._dead_letters is None or not about_the_data(exc):
                raise
            if len(batch) == 1:
                await self._set_aside_item(batch[0][1], exc)
            else:
                if whole:
                    self._log.warning(
                        "%s: a batch of %d events cannot be stored (%s): writing it in parts"
                        " to set the refused events aside",
                        self._name,
                        len(batch),
                        brief(exc),
                    )
                half = len(batch) // 2
                await self._write_sorting(batch[:half], whole=False)
                await self._write_sorting(batch[half:], whole=False)
            return
        self._done_with(len(batch))

    async def _set_aside_item(self, item: T, exc: Exception) -> None:
        assert self._dead_letters is not None
        letter = DeadLetter(self._name, as_json(item), brief(exc), datetime.now(UTC))
        where = await asyncio.to_thread(self._dead_letters.keep, [letter])
        self._set_aside += 1
        self._last_dead_letter = letter
        self._log.error(
            "%s: set aside a %s that cannot be stored (%s); kept in %s",
            self._name,
            type(item).__name__,
            letter.error,
            where,
        )
        self._done_with(1)

    def _done_with(self, count: int) -> None:
        """The first `count` items of `_batch` are written or set aside."""
        self._written += count
        if self._outbox is not None:
            seqs = [seq for seq, _ in self._batch[:count] if seq is not None]
            if seqs:
                self._outbox.spool.delivered(max(seqs))
        del self._batch[:count]
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

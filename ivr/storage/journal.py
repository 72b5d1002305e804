"""The call journal writer: a Notifier listener that records calls off the call path.

Events are queued in memory by the listener and written by `run()` in batches, one
transaction per batch, in a worker thread. Each call's events are merged into one row:
- a field once set is never reset to NULL (events may arrive in any order);
- `fell_back` only goes from false to true;
- `queue` comes from the most telling event: CallQueued (where the caller really is) over
  CallFellBack over CallRouted; between equals, the later arrival wins.
The same rules run in Python (within a batch) and in SQL (ON CONFLICT DO UPDATE, against
the stored row), so the result does not depend on how events are split into batches.
"""

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, case, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert

from ivr.events.model import CallEnded, CallFellBack, CallQueued, CallRouted, CallStarted, Event
from ivr.storage.models import CallRecord

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
Row = dict[str, Any]

TABLE: Table = CallRecord.metadata.tables[CallRecord.__tablename__]
MERGED = (
    "line",
    "caller",
    "channel",
    "started_at",
    "routed_at",
    "queue",
    "caller_class",
    "priority",
    "menu_path",
    "fell_back",
    "fallback_reason",
    "queued_at",
    "ended_at",
    "hangup_cause",
)
_KNOWN_EVENTS = (CallStarted, CallRouted, CallFellBack, CallQueued, CallEnded)


# --- merging in Python --------------------------------------------------------------------


def _text(value: str) -> str | None:
    """Empty means unknown. NUL and lone surrogates would make the database refuse the
    whole batch, so they are dropped/replaced here."""
    clean = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return clean or None


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def event_fields(event: Event) -> Row:
    """The journal fields one event sets (None: the event does not know)."""
    match event:
        case CallStarted():
            return {
                "line": _text(event.line),
                "caller": _text(event.caller),
                "channel": _text(event.channel),
                "started_at": _utc(event.at),
            }
        case CallRouted():
            return {
                "line": _text(event.line),
                "caller": _text(event.caller),
                "queue": _text(event.queue),
                "caller_class": _text(event.caller_class),
                "priority": event.priority,
                "menu_path": _text(">".join(event.menu_path)),
                "routed_at": _utc(event.at),
            }
        case CallFellBack():
            return {
                "line": _text(event.line),
                "caller": _text(event.caller),
                "queue": _text(event.queue),
                "fell_back": True,
                "fallback_reason": _text(event.reason),
            }
        case CallQueued():
            return {"queue": _text(event.queue), "queued_at": _utc(event.at)}
        case CallEnded():
            return {"hangup_cause": _text(event.cause), "ended_at": _utc(event.at)}
    raise TypeError(f"not a call event: {event!r}")


def _rank(row: Mapping[str, Any]) -> int:
    """How telling the row's queue is: 2 queued, 1 fell back, 0 routed."""
    return 2 if row.get("queued_at") is not None else 1 if row.get("fell_back") else 0


def merge(old: Row, new: Row) -> Row:
    out = dict(old)
    for key, value in new.items():
        if key == "fell_back":
            out[key] = bool(old.get(key)) or bool(value)
        elif key == "queue":
            if value is not None and _rank(new) >= _rank(old):
                out[key] = value
        elif value is not None:
            out[key] = value
    return out


def merge_events(events: Sequence[Event]) -> list[Row]:
    """One complete row per call (every column present, for executemany)."""
    rows: dict[str, Row] = {}
    for event in events:
        rows[event.call_id] = merge(rows.get(event.call_id, {}), event_fields(event))
    return [
        {
            "call_id": call_id,
            **{c: row.get(c) for c in MERGED},
            "fell_back": bool(row.get("fell_back")),
        }
        for call_id, row in rows.items()
    ]


# --- merging in SQL -----------------------------------------------------------------------

Columns = ReadOnlyColumnCollection[str, Any]


def _sql_rank(cols: Columns) -> ColumnElement[int]:
    return case((cols.queued_at.is_not(None), 2), (cols.fell_back.is_(True), 1), else_=0)


@functools.cache  # built once per dialect: constructing it costs more than a small batch
def upsert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (call_id) DO UPDATE with the merge rules (SQLite, PostgreSQL)."""
    if dialect == "postgresql":
        stmt: postgresql.Insert | sqlite.Insert = postgresql.insert(TABLE)
    elif dialect == "sqlite":
        stmt = sqlite.insert(TABLE)
    else:
        raise NotImplementedError(f"call journal: no upsert for database {dialect!r}")
    new, old = stmt.excluded, TABLE.c
    values: dict[str, Any] = {c: func.coalesce(new[c], old[c]) for c in MERGED}
    values["fell_back"] = or_(old.fell_back, new.fell_back)
    values["queue"] = case(
        (new.queue.is_(None), old.queue),
        (_sql_rank(new) >= _sql_rank(old), new.queue),
        else_=old.queue,
    )
    return stmt.on_conflict_do_update(index_elements=[old.call_id], set_=values)


_c = TABLE.c
OUTCOME = case(
    (_c.ended_at.is_not(None) & _c.queued_at.is_not(None), "ended"),
    (_c.ended_at.is_not(None), "abandoned"),
    (_c.queued_at.is_not(None), "queued"),
    (_c.fell_back.is_(True), "fallback"),
    (_c.routed_at.is_not(None), "routed"),
    else_="started",
)


def write_events(session_factory: SessionFactory, events: Sequence[Event]) -> None:
    """Merge `events` into the journal in one transaction (blocking: run in a thread)."""
    rows = merge_events(events)
    if not rows:
        return
    with session_factory() as session, session.begin():
        session.execute(upsert(session.get_bind().dialect.name), rows)
        ids = [row["call_id"] for row in rows]
        session.execute(update(TABLE).where(_c.call_id.in_(ids)).values(outcome=OUTCOME))


def _brief(exc: BaseException) -> str:
    """One line, without the SQL and parameters (caller numbers) SQLAlchemy adds."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


# --- the listener and its writer task -----------------------------------------------------


class CallJournal:
    """Subscribe it to the Notifier and run `run()` as a background task.

    `__call__` only appends to an in-memory queue. `run()` writes batches; on a database
    error it keeps the batch and retries with exponential backoff, so nothing is lost while
    the process lives (the queue is unbounded; `pending` shows the backlog).
    Listener and methods are used from the event loop's thread.
    """

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        batch_size: int = 5000,
        quiet: float = 0.2,
        max_delay: float = 5.0,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self._session_factory = session_factory
        self._batch_size = batch_size
        self._quiet = quiet
        self._max_delay = max_delay
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._queue: deque[Event] = deque()
        self._batch: list[Event] = []  # taken from the queue, not written yet
        self._enqueued = 0
        self._written = 0
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._done = asyncio.Event()
        self._running = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def pending(self) -> int:
        """Events received and not yet written."""
        return self._enqueued - self._written

    def __call__(self, event: Event) -> None:
        if not isinstance(event, _KNOWN_EVENTS):
            return
        self._queue.append(event)
        self._enqueued += 1
        self._wakeup.set()

    async def run(self) -> None:
        if self._running or self._done.is_set():
            raise RuntimeError("CallJournal.run(): already running or ended")
        self._running = True
        try:
            await self._write_until_stopped()
        finally:
            self._running = False
            self._done.set()
            self._settle()
            if self.pending:
                log.error("call journal: ended with %d events not written", self.pending)

    async def flush(self) -> None:
        """Wait until every event received so far is written (run() must be running)."""
        target = self._enqueued
        if self._written >= target:
            return
        if self._done.is_set():
            raise RuntimeError(f"call journal ended with {self.pending} events not written")
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
                log.error("call journal: stop: %d events still not written", self.pending)
        self._stop_requested.set()
        self._wakeup.set()
        if self._running:
            await self._done.wait()

    async def _write_until_stopped(self) -> None:
        delay, failures = self._retry_initial, 0
        while True:
            while self._queue and len(self._batch) < self._batch_size:
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
                await asyncio.to_thread(write_events, self._session_factory, batch)
            except Exception as exc:
                failures += 1
                if self._stop_requested.is_set():
                    log.error("call journal: stopping, last write failed: %s", _brief(exc))
                    return
                self._log_failure(exc, len(batch), failures, delay)
                await self._pause(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            if failures:
                log.warning("call journal: written again after %d failed attempts", failures)
            delay, failures = self._retry_initial, 0
            self._written += len(batch)
            del self._batch[: len(batch)]
            self._settle()

    def _log_failure(self, exc: Exception, size: int, failures: int, delay: float) -> None:
        if not isinstance(exc, SQLAlchemyError):
            log.exception("call journal: unexpected error writing %d events", size)
        level = logging.ERROR if failures == 1 else logging.WARNING
        log.log(
            level,
            "call journal: writing %d events failed (attempt %d, %d pending), retry in %.1fs: %s",
            size,
            failures,
            self.pending,
            delay,
            _brief(exc),
        )

    async def _gather(self) -> None:
        """Let a batch build up: write once events pause for `quiet` seconds, the batch is
        full, `max_delay` has passed, or someone waits (flush, stop). In a call burst the
        database work so runs after the burst, not between the calls' AGI replies, and in
        fewer, larger transactions."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_delay
        while len(self._queue) < self._batch_size and not self._waiters:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stop_requested.is_set():
                return
            seen = self._enqueued
            await self._pause(min(self._quiet, remaining))
            if self._enqueued == seen:
                return

    async def _pause(self, delay: float) -> None:
        """Back off before a retry; stop() cuts it short."""
        try:
            await asyncio.wait_for(self._stop_requested.wait(), delay)
        except TimeoutError:
            pass

    def _settle(self) -> None:
        """Release the flush() waiters whose events are written (or can no longer be)."""
        waiting = []
        for target, waiter in self._waiters:
            if waiter.done():
                continue
            if self._written >= target:
                waiter.set_result(None)
            elif self._done.is_set():
                waiter.set_exception(
                    RuntimeError(f"call journal ended with {self.pending} events not written")
                )
            else:
                waiting.append((target, waiter))
        self._waiters = waiting

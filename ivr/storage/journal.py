"""The call journal writer: a Notifier listener that records calls off the call path.

Events are queued in memory by the listener and written by `run()` in batches, one
transaction per batch, in a worker thread. Each call's events are merged into one row:
- a field once set is never reset to NULL (events may arrive in any order);
- `fell_back` only goes from false to true;
- `queue` comes from the most telling event: CallQueued (where the caller really is) over
  CallFellBack over CallRouted; between equals, the later arrival wins.
The same rules run in Python (within a batch) and in SQL (ON CONFLICT DO UPDATE, against
the stored row), so the result does not depend on how events are split into batches.
The outcome is computed from the merged row (see OUTCOME): a call the menu finished itself
(CallFinishedInMenu) and that never reached a queue is "self_service".
"""

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, case, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert

from ivr.events.model import (
    CallEnded,
    CallFellBack,
    CallFinishedInMenu,
    CallQueued,
    CallRouted,
    CallStarted,
    Event,
)
from ivr.storage.batch import BatchWriter, Tuning, as_utc, clean_text
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
    "finished_in_menu_at",
)
_KNOWN_EVENTS = (CallStarted, CallRouted, CallFellBack, CallQueued, CallEnded, CallFinishedInMenu)


# --- merging in Python --------------------------------------------------------------------


def event_fields(event: Event) -> Row:
    """The journal fields one event sets (None: the event does not know)."""
    match event:
        case CallStarted():
            return {
                "line": clean_text(event.line),
                "caller": clean_text(event.caller),
                "channel": clean_text(event.channel),
                "started_at": as_utc(event.at),
            }
        case CallRouted():
            return {
                "line": clean_text(event.line),
                "caller": clean_text(event.caller),
                "queue": clean_text(event.queue),
                "caller_class": clean_text(event.caller_class),
                "priority": event.priority,
                "menu_path": clean_text(">".join(event.menu_path)),
                "routed_at": as_utc(event.at),
            }
        case CallFellBack():
            return {
                "line": clean_text(event.line),
                "caller": clean_text(event.caller),
                "queue": clean_text(event.queue),
                "fell_back": True,
                "fallback_reason": clean_text(event.reason),
            }
        case CallQueued():
            return {"queue": clean_text(event.queue), "queued_at": as_utc(event.at)}
        case CallEnded():
            return {"hangup_cause": clean_text(event.cause), "ended_at": as_utc(event.at)}
        case CallFinishedInMenu():
            return {
                "line": clean_text(event.line),
                "caller": clean_text(event.caller),
                "menu_path": clean_text(">".join(event.menu_path)),
                "finished_in_menu_at": as_utc(event.at),
            }
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
    (_c.finished_in_menu_at.is_not(None) & _c.queued_at.is_(None), "self_service"),
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


# --- the listener ---------------------------------------------------------------------------


class CallJournal(BatchWriter[Event]):
    """Subscribe it to the Notifier and run `run()` as a background task.

    `__call__` only appends call events to an in-memory queue; `run()` merges them into the
    journal in batches (see BatchWriter: retries, flush, stop, `pending`).
    """

    TUNING = Tuning()

    def __init__(self, session_factory: SessionFactory, tuning: Tuning = TUNING) -> None:
        super().__init__(
            "call journal", functools.partial(write_events, session_factory), tuning, log=log
        )

    def __call__(self, event: Event) -> None:
        if isinstance(event, _KNOWN_EVENTS):
            self.put(event)

"""The call journal writer: a Notifier listener that records calls off the call path.

Events are queued in memory by the listener and written by `run()` in batches, one
transaction per batch, in a worker thread. Each call's events are merged into one row:
- a field once set is never reset to NULL (events may arrive in any order);
- `fell_back` and `over_guideline` only go from false to true;
- `target_met` is NULL (unknown) until an answer or a missed target says; false wins over
  true (AND), so a target once missed stays missed;
- `escalations` lists the steps that ran, comma-separated, in the order their events
  arrived (one monitor emits them in the order they run, and batches keep the order); a
  step already listed is not added again (each step runs once per call); a failed attempt
  is listed as "<step> failed", a step done late as "<step> late 4.2s" (see step_entry);
- `queue` comes from the most telling event: CallAnswered / CallAbandoned / CallCompleted
  (the queue the caller was in at that moment: after an overflow it is not the first one)
  over CallQueued (where the caller really is) over CallFellBack over CallRouted; between
  equals, the later arrival wins.
The same rules run in Python (within a batch) and in SQL (ON CONFLICT DO UPDATE, against
the stored row), so the result does not depend on how events are split into batches.
The outcome is computed from the merged row (see OUTCOME): a call the menu finished itself
(CallFinishedInMenu) and that never reached a queue is "self_service".
"""

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, literal, or_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert

from ivr.events.model import (
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallEscalated,
    CallFellBack,
    CallFinishedInMenu,
    CallQueued,
    CallRouted,
    CallStarted,
    Event,
    TalkLimitReached,
    WaitPredicted,
)
from ivr.storage.batch import BatchWriter, Outbox, Tuning, as_utc, clean_text
from ivr.storage.db import conflict_insert, writing
from ivr.storage.dead_letters import DeadLetterStore
from ivr.storage.limits import CALL_ID, check_length
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
    "agent",
    "agent_channel",
    "answered_at",
    "wait_seconds",
    "talk_seconds",
    "target_met",
    "escalations",
    "over_guideline",
    "ended_by",
    "abandoned_at",
    "subscriber_id",
    "predicted_wait_seconds",
    "keys",
)
FLAGS = ("fell_back", "over_guideline")  # false -> true only; never NULL
JournalEvent = (
    CallStarted
    | CallRouted
    | CallFellBack
    | CallQueued
    | CallEnded
    | CallFinishedInMenu
    | CallAnswered
    | CallAbandoned
    | AnswerTargetMissed
    | CallEscalated
    | TalkLimitReached
    | CallCompleted
    | WaitPredicted
)
# TalkLimitReached levels that put the call over the talk guideline ("warning" does not).
OVER_GUIDELINE_LEVELS = frozenset({"guideline", "hard_limit"})
STEP_SEPARATOR = ","


# --- merging in Python --------------------------------------------------------------------


def event_fields(event: JournalEvent) -> Row:
    """The journal fields one event sets (None: the event does not know)."""
    fields = _path_fields(event)
    if fields is None:
        fields = _queue_fields(event)
    if fields is None:
        raise TypeError(f"not a call event: {event!r}")
    return fields


def _path_fields(event: JournalEvent) -> Row | None:
    """The fields of the call's way in and out: started, routed or fell back or finished in
    the menu, queued, ended; None for any other event."""
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
                "subscriber_id": event.subscriber_id,
                "keys": key_tokens(event.keys),
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
                "keys": key_tokens(event.keys),
            }
    return None


def key_tokens(keys: tuple[str, ...] | None) -> str | None:
    """The keys as `--dtmf` writes them; "" (not NULL) when the menu asked for none."""
    return None if keys is None else (clean_text(" ".join(keys)) or "")


def _queue_fields(event: JournalEvent) -> Row | None:
    """The fields of what happened in the queue: answered or abandoned, the answer target
    missed, escalated, over the talk guideline, completed; None for any other event."""
    match event:
        case CallAnswered():
            return {
                "queue": clean_text(event.queue),
                "agent": clean_text(event.agent),
                "agent_channel": clean_text(event.agent_channel),
                "wait_seconds": float(event.wait),
                "target_met": bool(event.target_met),
                "answered_at": as_utc(event.at),
            }
        case CallAbandoned():
            return {
                "queue": clean_text(event.queue),
                "wait_seconds": float(event.wait),
                "abandoned_at": as_utc(event.at),
            }
        case AnswerTargetMissed():
            return {"line": clean_text(event.line), "target_met": False}
        case WaitPredicted():
            return {"predicted_wait_seconds": event.predicted}
        case CallEscalated():
            return {"escalations": clean_step(step_entry(event))}
        case TalkLimitReached():
            # "warning" (and a level this version does not know) changes nothing.
            return {"over_guideline": True} if event.level in OVER_GUIDELINE_LEVELS else {}
        case CallCompleted():
            return {
                "queue": clean_text(event.queue),
                "agent": clean_text(event.agent),
                "talk_seconds": float(event.talk),
                "ended_by": clean_text(event.ended_by),
            }
    return None


def step_entry(event: CallEscalated) -> str:
    """How a step is listed: its name; "<name> failed" for a failed attempt (listed once,
    however often it is retried); "<name> late 12.3s" when done late (an AMI outage, a
    retry, a caller adopted at a resync)."""
    if event.failed:
        return f"{event.step} failed"
    return f"{event.step} late {event.late:.1f}s" if event.late > 0 else event.step


def clean_step(step: str) -> str | None:
    """An escalation step as listed in `escalations` (the separator cannot occur in it)."""
    return clean_text(step.replace(STEP_SEPARATOR, " ").strip())


def split_steps(steps: str | None) -> list[str]:
    return [step for step in (steps or "").split(STEP_SEPARATOR) if step]


def append_steps(old: str | None, new: str | None) -> str | None:
    """`old` followed by the steps of `new` it does not list yet."""
    steps = split_steps(old)
    for step in split_steps(new):
        if step not in steps:
            steps.append(step)
    return STEP_SEPARATOR.join(steps) or None


def all_met(old: bool | None, new: bool | None) -> bool | None:
    """AND over what is known: None (unknown) only when neither side knows."""
    if old is None:
        return new
    if new is None:
        return old
    return old and new


def _rank(row: Mapping[str, Any]) -> int:
    """How telling the row's queue is: 3 answered in / abandoned from / completed in,
    2 queued, 1 fell back, 0 routed."""
    if any(row.get(c) is not None for c in ("answered_at", "abandoned_at", "talk_seconds")):
        return 3
    return 2 if row.get("queued_at") is not None else 1 if row.get("fell_back") else 0


def merge(old: Row, new: Row) -> Row:
    out = dict(old)
    for key, value in new.items():
        if key in FLAGS:
            out[key] = bool(old.get(key)) or bool(value)
        elif key == "queue":
            if value is not None and _rank(new) >= _rank(old):
                out[key] = value
        elif key == "target_met":
            out[key] = all_met(old.get(key), value)
        elif key == "escalations":
            out[key] = append_steps(old.get(key), value)
        elif value is not None:
            out[key] = value
    return out


def _complete(call_id: str, row: Mapping[str, Any]) -> Row:
    """Every column present (for executemany); flags never NULL."""
    return {
        "call_id": call_id,
        **{c: row.get(c) for c in MERGED},
        **{flag: bool(row.get(flag)) for flag in FLAGS},
    }


def merge_events(events: Sequence[JournalEvent]) -> list[Row]:
    """One complete row per call (every column present, for executemany). A call id longer
    than CALL_ID is refused (TooLong: the writer sets the event aside as a dead letter)
    rather than cut: a cut id could merge two calls' rows."""
    rows: dict[str, Row] = {}
    for event in events:
        call_id = check_length("call_id", event.call_id, CALL_ID)
        assert call_id is not None
        rows[call_id] = merge(rows.get(call_id, {}), event_fields(event))
    return [_complete(call_id, row) for call_id, row in rows.items()]


def upsert_rounds(rows: Sequence[Row]) -> list[list[Row]]:
    """The merged rows as upsert rounds holding at most one escalation step per row: the
    SQL merge appends one step at a time (see `upsert`). The first round carries every
    other field; a later round only the next step of calls with several in the batch."""
    rounds: list[list[Row]] = [[]]
    for row in rows:
        steps = split_steps(row["escalations"])
        rounds[0].append({**row, "escalations": steps[0] if steps else None})
        for n, step in enumerate(steps[1:], start=1):
            if len(rounds) <= n:
                rounds.append([])
            rounds[n].append({**_complete(row["call_id"], {}), "escalations": step})
    return rounds


# --- merging in SQL -----------------------------------------------------------------------

Columns = ReadOnlyColumnCollection[str, Any]


def _sql_rank(cols: Columns) -> ColumnElement[int]:
    answered_in = or_(
        cols.answered_at.is_not(None),
        cols.abandoned_at.is_not(None),
        cols.talk_seconds.is_not(None),
    )
    return case(
        (answered_in, 3),
        (cols.queued_at.is_not(None), 2),
        (cols.fell_back.is_(True), 1),
        else_=0,
    )


def _sql_append_step(dialect: str, old: ColumnElement[str], step: ColumnElement[str]) -> Any:
    """`old` with `step` (one step) appended unless already listed."""
    sep = literal(STEP_SEPARATOR)
    listed, wanted = sep + old + sep, sep + step + sep
    position = func.strpos if dialect == "postgresql" else func.instr  # exact, no wildcards
    return case(
        (step.is_(None), old),
        (old.is_(None), step),
        (position(listed, wanted) > 0, old),
        else_=old + sep + step,
    )


@functools.cache  # built once per dialect: constructing it costs more than a small batch
def upsert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (call_id) DO UPDATE with the merge rules (SQLite, PostgreSQL).
    The inserted row must hold at most one escalation step (see `upsert_rounds`)."""
    stmt = conflict_insert(dialect, TABLE, "call journal")
    new, old = stmt.excluded, TABLE.c
    values: dict[str, Any] = {c: func.coalesce(new[c], old[c]) for c in MERGED}
    for flag in FLAGS:
        values[flag] = or_(old[flag], new[flag])
    values["queue"] = case(
        (new.queue.is_(None), old.queue),
        (_sql_rank(new) >= _sql_rank(old), new.queue),
        else_=old.queue,
    )
    values["target_met"] = case(
        (old.target_met.is_(None), new.target_met),
        (new.target_met.is_(None), old.target_met),
        else_=and_(old.target_met, new.target_met),
    )
    values["escalations"] = _sql_append_step(dialect, old.escalations, new.escalations)
    return stmt.on_conflict_do_update(index_elements=[old.call_id], set_=values)


_c = TABLE.c
OUTCOME = case(
    (_c.answered_at.is_not(None), "answered"),
    (_c.abandoned_at.is_not(None), "abandoned"),
    (_c.ended_at.is_not(None) & _c.queued_at.is_not(None), "ended"),
    (_c.finished_in_menu_at.is_not(None) & _c.queued_at.is_(None), "self_service"),
    (_c.ended_at.is_not(None), "abandoned"),
    (_c.queued_at.is_not(None), "queued"),
    (_c.fell_back.is_(True), "fallback"),
    (_c.routed_at.is_not(None), "routed"),
    else_="started",
)


def write_events(session_factory: SessionFactory, events: Sequence[JournalEvent]) -> None:
    """Merge `events` into the journal in one transaction (blocking: run in a thread)."""
    rows = merge_events(events)
    if not rows:
        return
    with writing(session_factory) as session:
        statement = upsert(session.get_bind().dialect.name)
        for batch in upsert_rounds(rows):
            session.execute(statement, batch)
        ids = [row["call_id"] for row in rows]
        session.execute(update(TABLE).where(_c.call_id.in_(ids)).values(outcome=OUTCOME))


# --- the listener ---------------------------------------------------------------------------


class CallJournal(BatchWriter[JournalEvent]):
    """Subscribe it to the Notifier and run `run()` as a background task.

    `__call__` only appends call events to an in-memory queue; `run()` merges them into the
    journal in batches (see BatchWriter: retries, dead letters, flush, stop, `pending`).
    `dead_letters` defaults to the table on the same database (no spill file).
    """

    TUNING = Tuning()

    def __init__(
        self,
        session_factory: SessionFactory,
        tuning: Tuning = TUNING,
        dead_letters: DeadLetterStore | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        super().__init__(
            "journal",
            functools.partial(write_events, outbox.marks.sessions if outbox else session_factory),
            tuning,
            log=log,
            dead_letters=dead_letters or DeadLetterStore(session_factory),
            outbox=outbox,
        )

    def __call__(self, event: Event) -> None:
        if isinstance(event, JournalEvent):
            self.put(event)

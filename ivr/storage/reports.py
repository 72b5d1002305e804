"""Reports the voice menu and the operators file during calls: unreachable service numbers,
meter readings and callback requests.

`ReportWriter` listens to the Notifier and inserts them off the call path (BatchWriter:
batches in a worker thread, retried until written). `ReportRepository` is the read side,
with frozen views.
"""

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Self

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ivr.events.model import CallbackRequested, Event, MeterReadingSubmitted, UnreachableReported
from ivr.storage.batch import BatchWriter, Outbox, Tuning, as_utc, clean_text
from ivr.storage.db import writing
from ivr.storage.dead_letters import DeadLetterStore
from ivr.storage.directory import normalise_contract, normalise_phone
from ivr.storage.limits import SHORT, check_length
from ivr.storage.models import (
    Base,
    CallbackRequestRecord,
    MeterReadingRecord,
    UnreachableReportRecord,
)

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
Row = dict[str, Any]

ReportEvent = UnreachableReported | MeterReadingSubmitted | CallbackRequested


def line_key(line: str) -> str | None:
    """A service number as reports are grouped by it: its digits ("0 800 50-50-50" and
    "080050 5050" are one line); text without digits is kept as it is."""
    return normalise_phone(line) or clean_text(line.strip())


def _contract(contract: str) -> str | None:
    """A contract as stored (indexed: one too long for the index is refused, TooLong)."""
    return check_length("contract", clean_text(normalise_contract(contract)), SHORT)


def report_row(event: ReportEvent) -> tuple[type[Base], Row]:
    """The table an event goes to and its row."""
    match event:
        case UnreachableReported():
            return UnreachableReportRecord, {
                "created_at": as_utc(event.at),
                "call_id": clean_text(event.call_id),
                "reported_line": check_length(
                    "reported_line", line_key(event.reported_line), SHORT
                ),
                "via_line": clean_text(event.via_line),
                "published": clean_text(event.published),
                "dialled_from": clean_text(event.dialled_from),
                "problem": clean_text(event.problem),
                "caller": clean_text(event.caller),
                "subscriber_id": event.subscriber_id,
                "contract": _contract(event.contract),
                "full_name": clean_text(event.full_name),
                "address": clean_text(event.address),
                "details": clean_text(event.details),
                "source": clean_text(event.source),
            }
        case MeterReadingSubmitted():
            return MeterReadingRecord, {
                "created_at": as_utc(event.at),
                "call_id": clean_text(event.call_id),
                "line": clean_text(event.line),
                "caller": clean_text(event.caller),
                "contract": _contract(event.contract),
                "subscriber_id": event.subscriber_id,
                "reading": clean_text(event.reading),
            }
        case CallbackRequested():
            return CallbackRequestRecord, {
                "created_at": as_utc(event.at),
                "call_id": clean_text(event.call_id),
                "line": clean_text(event.line),
                "phone": clean_text(event.phone),
                "name": clean_text(event.name),
                "queue": clean_text(event.queue),
                "caller_class": clean_text(event.caller_class),
                "promised_by": as_utc(event.promised_by),
                "waiting_since": (
                    as_utc(event.waiting_since) if event.waiting_since is not None else None
                ),
                "language": clean_text(event.language) or None,
                "next_attempt_at": as_utc(event.dial_from) if event.dial_from else None,
            }
    raise TypeError(f"not a report event: {event!r}")


def write_reports(session_factory: SessionFactory, events: Sequence[ReportEvent]) -> None:
    """Insert `events` in one transaction (blocking: run in a thread)."""
    rows: dict[type[Base], list[Row]] = {}
    for event in events:
        table, row = report_row(event)
        rows.setdefault(table, []).append(row)
    if not rows:
        return
    with writing(session_factory) as session:
        for table, batch in rows.items():
            session.execute(insert(table), batch)


class ReportWriter(BatchWriter[ReportEvent]):
    """Subscribe it to the Notifier and run `run()` as a background task. `__call__` only
    queues report events (others are ignored); see BatchWriter for run/flush/stop."""

    TUNING = Tuning(batch_size=1000, max_delay=2.0)  # reports are few

    def __init__(
        self,
        session_factory: SessionFactory,
        tuning: Tuning = TUNING,
        dead_letters: DeadLetterStore | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        super().__init__(
            "reports",
            functools.partial(write_reports, outbox.marks.sessions if outbox else session_factory),
            tuning,
            log=log,
            dead_letters=dead_letters or DeadLetterStore(session_factory),
            outbox=outbox,
        )

    def __call__(self, event: Event) -> None:
        if isinstance(event, ReportEvent):
            self.put(event)


# --- the read side --------------------------------------------------------------------------


class _View:
    __slots__ = ()

    @classmethod
    def of(cls, record: Any) -> Self:
        return cls(**{f.name: getattr(record, f.name) for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class UnreachableReportView(_View):
    id: int
    created_at: datetime
    call_id: str | None
    reported_line: str | None
    via_line: str | None
    published: str | None
    dialled_from: str | None
    problem: str | None
    caller: str | None
    subscriber_id: int | None
    contract: str | None
    full_name: str | None
    address: str | None
    details: str | None
    source: str | None
    status: str


@dataclass(frozen=True, slots=True)
class MeterReadingView(_View):
    id: int
    created_at: datetime
    call_id: str | None
    line: str | None
    caller: str | None
    contract: str | None
    subscriber_id: int | None
    reading: str | None


@dataclass(frozen=True, slots=True)
class CallbackView(_View):
    id: int
    created_at: datetime
    call_id: str | None
    line: str | None
    phone: str | None
    name: str | None
    queue: str | None
    caller_class: str | None
    promised_by: datetime | None
    status: str  # open | dialling | done | failed (see ivr.storage.callbacks)
    attempts: int
    last_attempt_at: datetime | None
    outcome: str | None  # of the last attempt
    waiting_since: datetime | None  # the place in line: waiting_since or else created_at
    next_attempt_at: datetime | None
    answered_at: datetime | None
    language: str | None  # the call's language ("" / None: the prompts' default)


class ReportRepository:
    """Blocking queries: call them from a thread (asyncio.to_thread) in async code. Times
    are aware, in UTC; `since` is inclusive, `until` exclusive; newest first."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def unreachable_reports(
        self,
        line: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[UnreachableReportView]:
        r = UnreachableReportRecord
        query = select(r).order_by(r.created_at.desc(), r.id.desc()).limit(limit)
        if line is not None:
            query = query.where(r.reported_line == line_key(line))
        if since is not None:
            query = query.where(r.created_at >= since)
        if until is not None:
            query = query.where(r.created_at < until)
        with self._session_factory() as session:
            return [UnreachableReportView.of(x) for x in session.scalars(query)]

    def unreachable_by_line(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[str, int]]:
        """Reports per reported line, the most reported first ("" = line not given)."""
        r = UnreachableReportRecord
        count = func.count(r.id)
        query = select(r.reported_line, count).group_by(r.reported_line)
        if since is not None:
            query = query.where(r.created_at >= since)
        if until is not None:
            query = query.where(r.created_at < until)
        with self._session_factory() as session:
            counts = [(line or "", n) for line, n in session.execute(query).all()]
        # Sorted here: the backends disagree on where NULL (line not given) sorts.
        return sorted(counts, key=lambda item: (-item[1], item[0]))

    def meter_readings(
        self, contract: str | None = None, limit: int = 100
    ) -> list[MeterReadingView]:
        m = MeterReadingRecord
        query = select(m).order_by(m.created_at.desc(), m.id.desc()).limit(limit)
        if contract is not None:
            query = query.where(m.contract == normalise_contract(contract))
        with self._session_factory() as session:
            return [MeterReadingView.of(x) for x in session.scalars(query)]

    def callbacks(self, status: str | None = None, limit: int = 100) -> list[CallbackView]:
        c = CallbackRequestRecord
        query = select(c).order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(c.status == status)
        with self._session_factory() as session:
            return [CallbackView.of(x) for x in session.scalars(query)]

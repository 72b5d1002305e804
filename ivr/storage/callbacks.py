"""The callback work queue: callback requests (written by ReportWriter) worked through by
the dialer (ivr.monitors.callbacks).

A request's status goes
    open --start_attempt--> dialling --finish_attempt--> done | open (retry later) | failed
and a request left in `dialling` by a crash goes back to open at start-up
(`reopen_interrupted`). Callers are called back in their place in line, coalesce(
waiting_since, created_at): a caller who accepted a callback while waiting in a queue keeps
the place they had.

Blocking: the dialer calls it from a thread (asyncio.to_thread). Times are aware, in UTC.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from ivr.storage.db import writing
from ivr.storage.models import CallbackRequestRecord
from ivr.storage.reports import CallbackView

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]

OPEN = "open"  # waiting for an attempt (at once, or from next_attempt_at)
DIALLING = "dialling"  # an attempt is running
DONE = "done"  # answered
FAILED = "failed"  # given up after the last attempt
STATUSES = (OPEN, DIALLING, DONE, FAILED)
ANSWERED = "answered"  # the attempt outcome that ends the request

_r = CallbackRequestRecord
PLACE_IN_LINE = func.coalesce(_r.waiting_since, _r.created_at)


@dataclass(frozen=True, slots=True)
class PendingCallback:
    """An open request, due for an attempt (text columns: "" when not known)."""

    id: int
    call_id: str | None
    phone: str
    name: str
    line: str
    queue: str
    caller_class: str
    waiting_since: datetime  # the place in line: coalesce(waiting_since, created_at)
    attempts: int  # made so far
    promised_by: datetime | None
    language: str = ""  # the call's language: the callback greets him in it

    @classmethod
    def of(cls, record: CallbackRequestRecord) -> "PendingCallback":
        return cls(
            id=record.id,
            call_id=record.call_id,
            phone=record.phone or "",
            name=record.name or "",
            line=record.line or "",
            queue=record.queue or "",
            caller_class=record.caller_class or "",
            waiting_since=record.waiting_since or record.created_at,
            attempts=record.attempts,
            promised_by=record.promised_by,
            language=record.language or "",
        )


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


class CallbackStore:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def due(self, now: datetime, limit: int = 50) -> list[PendingCallback]:
        """Open requests whose next attempt is due at `now`, longest waiting first."""
        query = (
            select(_r)
            .where(_r.status == OPEN)
            .where(or_(_r.next_attempt_at.is_(None), _r.next_attempt_at <= now))
            .order_by(PLACE_IN_LINE, _r.id)
            .limit(limit)
        )
        with self._session_factory() as session:
            return [PendingCallback.of(record) for record in session.scalars(query)]

    def start_attempt(self, callback_id: int, now: datetime) -> int:
        """Claim the request for an attempt: open -> dialling, one more attempt. Returns
        the attempt's number (1 for the first), or 0 when the request was not open (another
        dialer took it, or it is finished): then do not dial."""
        claim = (
            update(_r)
            .where(_r.id == callback_id, _r.status == OPEN)
            .values(status=DIALLING, attempts=_r.attempts + 1, last_attempt_at=now)
            .returning(_r.attempts)
        )
        with writing(self._session_factory) as session:
            attempt = session.execute(claim).scalar_one_or_none()
        return attempt or 0

    def finish_attempt(
        self, callback_id: int, outcome: str, now: datetime, retry_at: datetime | None
    ) -> None:
        """Record an attempt's outcome: "answered" ends the request (done); any other
        outcome schedules the next attempt at `retry_at` (open again) or, with no retry,
        gives up (failed). A finished request (done, failed) is left as it is."""
        values: dict[str, Any]
        if outcome == ANSWERED:
            values = {"status": DONE, "answered_at": now, "next_attempt_at": None}
        elif retry_at is not None:
            values = {"status": OPEN, "next_attempt_at": retry_at}
        else:
            values = {"status": FAILED, "next_attempt_at": None}
        # Still `open` too: a restart reopened it while this attempt ran; the outcome holds.
        finish = (
            update(_r)
            .where(_r.id == callback_id, _r.status.in_((DIALLING, OPEN)))
            .values(outcome=outcome, **values)
        )
        with writing(self._session_factory) as session:
            updated = _rowcount(session.execute(finish))
        if not updated:
            log.warning(
                "callback %s: attempt outcome %r not stored: no such request or it is "
                "already finished",
                callback_id,
                outcome,
            )

    def reopen_interrupted(self, started_before: datetime | None = None) -> int:
        """Requests left `dialling` by a crash (of this engine, or of the owner another took
        over from) are open again (due at once, or at their next_attempt_at); with
        `started_before`, only attempts started before then (younger ones may still ring).
        Returns how many."""
        reopen = update(_r).where(_r.status == DIALLING).values(status=OPEN)
        if started_before is not None:
            reopen = reopen.where(_r.last_attempt_at < started_before)
        with writing(self._session_factory) as session:
            return _rowcount(session.execute(reopen))

    def get(self, callback_id: int) -> CallbackView | None:
        with self._session_factory() as session:
            record = session.get(_r, callback_id)
            return CallbackView.of(record) if record is not None else None

"""Suspected mass outages (ivr.outages.detector) as rows supervisors act on: post the
prefilled outage in one step (the outage and the alert's status in one transaction) or
dismiss it. Also the journal's reads the detector counts.

Blocking: call it from a thread (a storage gate). Lists are newest first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.db import writing
from ivr.storage.desk import check_limit
from ivr.storage.directory import new_outage
from ivr.storage.models import CallRecord, OutageAlertRecord, SubscriberRecord
from ivr.storage.service_level import CALL_TIME

SessionFactory = Callable[[], Session]
OPEN, POSTED, DISMISSED = "open", "posted", "dismissed"
STATUSES = (OPEN, POSTED, DISMISSED)


class AlertHandled(Exception):
    """The alert was already posted or dismissed."""


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    raised_at: datetime
    city: str
    line: str
    choice: str
    calls: int
    usual: float
    window: float
    message: str
    language: str
    status: str
    subsided_at: datetime | None
    handled_at: datetime | None
    handled_by: str | None
    outage_id: int | None


@dataclass(frozen=True, slots=True)
class JournalCall:
    """A call that left the menu: its line, menu path, identified subscriber's city."""

    line: str
    menu_path: str
    city: str | None  # None: no subscriber identified
    started_at: datetime


def _view(r: OutageAlertRecord) -> AlertView:
    return AlertView(
        r.id,
        r.raised_at,
        r.city,
        r.line,
        r.choice,
        r.calls,
        r.usual,
        r.window,
        r.message,
        r.language,
        r.status,
        r.subsided_at,
        r.handled_at,
        r.handled_by,
        r.outage_id,
    )


class OutageAlertStore:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def add(self, record: OutageAlertRecord) -> AlertView:
        """A new alert (status open, spike on)."""
        if record.raised_at.tzinfo is None:
            raise ValueError("raised_at: expected a time with a time zone")
        with writing(self._session_factory) as session:
            session.add(record)
            session.flush()
            return _view(record)

    def subside(self, city: str, line: str, choice: str, at: datetime) -> int:
        """The spike of this key is over; the number of alerts marked."""
        a = OutageAlertRecord
        with writing(self._session_factory) as session:
            query = select(a).where(
                a.city == city, a.line == line, a.choice == choice, a.subsided_at.is_(None)
            )
            records = list(session.scalars(query))
            for record in records:
                record.subsided_at = at
            return len(records)

    def in_spike(self) -> list[tuple[str, str, str]]:
        """(city, line, choice) of every spike still on, whatever its alert's status."""
        a = OutageAlertRecord
        query = select(a.city, a.line, a.choice).where(a.subsided_at.is_(None)).distinct()
        with self._session_factory() as session:
            return [(r.city, r.line, r.choice) for r in session.execute(query)]

    def alerts(self, status: str | None = None, limit: int = 100) -> list[AlertView]:
        if status is not None and status not in STATUSES:
            raise ValueError(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
        a = OutageAlertRecord
        query = select(a).order_by(a.raised_at.desc(), a.id.desc()).limit(check_limit(limit))
        if status is not None:
            query = query.where(a.status == status)
        with self._session_factory() as session:
            return [_view(r) for r in session.scalars(query)]

    def alert(self, alert_id: int) -> AlertView | None:
        with self._session_factory() as session:
            record = session.get(OutageAlertRecord, alert_id)
            return _view(record) if record else None

    def post(
        self,
        alert_id: int,
        *,
        by: str,
        at: datetime,
        message: str | None = None,
        service: str = "",
        expected_restore: datetime | None = None,
    ) -> AlertView:
        """Post the alert's outage for its city (its prefilled message unless `message`)
        from `at`. LookupError: no such alert; AlertHandled: posted or dismissed before."""
        with writing(self._session_factory) as session:
            record = self._open(session, alert_id)
            outage = new_outage(
                record.city, service, message or record.message, expected_restore, at
            )
            session.add(outage)
            session.flush()
            record.status, record.outage_id = POSTED, outage.id
            record.handled_at, record.handled_by = at, by
            return _view(record)

    def dismiss(self, alert_id: int, *, by: str, at: datetime) -> AlertView:
        """No outage: the alert is closed. LookupError / AlertHandled as for `post`."""
        with writing(self._session_factory) as session:
            record = self._open(session, alert_id)
            record.status, record.handled_at, record.handled_by = DISMISSED, at, by
            return _view(record)

    @staticmethod
    def _open(session: Session, alert_id: int) -> OutageAlertRecord:
        # PostgreSQL: the row lock makes a second post wait, then see the first one's
        record = session.get(OutageAlertRecord, alert_id, with_for_update=True)
        if record is None:
            raise LookupError(f"no such outage alert: {alert_id}")
        if record.status != OPEN:
            raise AlertHandled(f"outage alert {alert_id} is already {record.status}")
        return record

    def calls_between(self, since: datetime, until: datetime) -> list[JournalCall]:
        """Calls started in [since, until) that left the menu, with the city of the
        subscriber the menu identified. (CALL_TIME is started_at for a started call, and
        the journal's time index serves it.)"""
        c, s = CallRecord, SubscriberRecord
        query = (
            select(c.line, c.menu_path, s.city, c.started_at)
            .outerjoin(s, s.id == c.subscriber_id)
            .where(CALL_TIME >= since, CALL_TIME < until)
            .where(c.started_at.is_not(None), c.menu_path.is_not(None))
        )
        with self._session_factory() as session:
            return [
                JournalCall(r.line or "", r.menu_path or "", r.city, r.started_at)
                for r in session.execute(query)
                if r.started_at is not None
            ]

"""The operator's desk: appeals (non-target calls), complaints and technician requests, and
unreachable-number reports filed from the agent view; with the desk's lookups (every account
with a phone, the outage board with its times).

Blocking: call it from a thread (asyncio.to_thread) in async code. Bad input raises
ValueError naming the field ("contact_phone: expected a phone number with digits"), an
unknown subscriber LookupError, data contradicting the directory Conflict. Text is
stored as given (Unicode), trimmed; NUL characters are dropped. Times are aware, in UTC;
lists are newest first.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ivr.events.model import UnreachableReported
from ivr.storage.db import writing
from ivr.storage.directory import normalise_contract, normalise_phone, subscriber_of
from ivr.storage.models import (
    AppealRecord,
    Base,
    OutageRecord,
    ServiceRequestRecord,
    SubscriberPhone,
    SubscriberRecord,
    UnreachableReportRecord,
)
from ivr.storage.reports import UnreachableReportView, report_row
from ivr.subscribers import Subscriber

SessionFactory = Callable[[], Session]
V = TypeVar("V")

KINDS = ("complaint", "technician")  # service request kinds
PROBLEMS = ("no_answer", "no_operator", "ivr_sound", "other")  # unreachable report problems
MAX_LIMIT = 1000


class Conflict(ValueError):
    """The input contradicts what the directory holds (another subscriber's contract)."""


@dataclass(frozen=True, slots=True)
class AppealView:
    id: int
    created_at: datetime
    call_id: str | None
    line: str | None
    agent: str | None
    city: str
    organisation: str
    position: str | None
    full_name: str
    contact_phone: str
    purpose: str
    status: str


@dataclass(frozen=True, slots=True)
class ServiceRequestView:
    id: int
    created_at: datetime
    kind: str  # complaint | technician
    call_id: str | None
    line: str | None
    agent: str | None
    subscriber_id: int | None
    contract: str | None
    full_name: str | None
    address: str | None
    contact_phone: str | None
    text: str
    status: str


@dataclass(frozen=True, slots=True)
class OutageView:
    """An outage on the board with its times; `active` at the time it was read."""

    id: int
    area: str
    service: str
    message: str
    starts_at: datetime
    expected_restore: datetime | None
    ended_at: datetime | None
    active: bool


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    contract: str
    full_name: str
    address: str


def _view(cls: type[V], record: Any, **extra: Any) -> V:
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: getattr(record, n) for n in names if n not in extra}, **extra)


# Blank: whitespace to Python (str.isspace) or to JSON Schema / ECMA-262 (\s), and NUL.
# ivr/web/openapi.yaml's "not blank" pattern lists the same characters (a test checks it).
BLANK = (
    "\x00\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def clean(value: str) -> str:
    """Text ready to store: NUL dropped, lone surrogates replaced, blanks trimmed."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip(BLANK)


def required(name: str, value: str) -> str:
    text = clean(value)
    if not text:
        raise ValueError(f"{name}: must not be empty")
    return text


def optional(value: str) -> str | None:
    return clean(value) or None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit: expected 1..{MAX_LIMIT}, got {limit}")
    return limit


def _aware(name: str, at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError(f"{name}: expected a time with a time zone")
    return at.astimezone(UTC)


def _is_active(record: OutageRecord, now: datetime) -> bool:
    return record.starts_at <= now and (record.ended_at is None or record.ended_at > now)


class DeskStore:
    """What operators file during calls, and the lookups the agent view needs."""

    def __init__(self, session_factory: SessionFactory, country_code: str = "") -> None:
        self._session_factory = session_factory
        self._country_code = country_code

    # --- field helpers --------------------------------------------------------------------

    def phone(self, name: str, value: str) -> str | None:
        """A phone as digits (international with the country code); None when blank."""
        if not clean(value):
            return None
        digits = normalise_phone(value, self._country_code)
        if not digits:
            raise ValueError(f"{name}: expected a phone number with digits, got {value!r}")
        return digits

    def required_phone(self, name: str, value: str) -> str:
        digits = self.phone(name, value)
        if digits is None:
            raise ValueError(f"{name}: must not be empty")
        return digits

    def _account(self, subscriber_id: int | None, contract: str | None) -> _Account | None:
        """The account a filing is about: by id (LookupError if unknown; Conflict if
        `contract` is another's), else by contract (None if unknown). Read in its own
        transaction: SQLite refuses at once a transaction that reads, then writes while
        another connection writes."""
        r = SubscriberRecord
        with self._session_factory() as session:
            if subscriber_id is not None:
                record = session.get(r, subscriber_id)
                if record is None:
                    raise LookupError(f"subscriber_id: no subscriber {subscriber_id}")
                if contract is not None and contract != record.contract:
                    raise Conflict(
                        f"contract: {contract} is not subscriber {subscriber_id}'s contract "
                        f"({record.contract})"
                    )
            elif contract is not None:
                record = session.scalars(select(r).where(r.contract == contract)).one_or_none()
            else:
                record = None
            if record is None:
                return None
            return _Account(record.id, record.contract, record.full_name, record.address)

    def _insert(self, record: Base) -> None:
        with writing(self._session_factory) as session:
            session.add(record)

    # --- appeals --------------------------------------------------------------------------

    def add_appeal(
        self,
        *,
        city: str,
        organisation: str,
        full_name: str,
        contact_phone: str,
        purpose: str,
        position: str = "",
        call_id: str = "",
        line: str = "",
        agent: str = "",
        at: datetime | None = None,
    ) -> AppealView:
        """A non-target call: who called, from where, and the message to pass on."""
        record = AppealRecord(
            created_at=_aware("at", at),
            city=required("city", city),
            organisation=required("organisation", organisation),
            full_name=required("full_name", full_name),
            contact_phone=self.required_phone("contact_phone", contact_phone),
            purpose=required("purpose", purpose),
            position=optional(position),
            call_id=optional(call_id),
            line=optional(line),
            agent=optional(agent),
        )
        self._insert(record)
        return _view(AppealView, record)

    def appeals(
        self, since: datetime | None = None, until: datetime | None = None, limit: int = 100
    ) -> list[AppealView]:
        """Appeals filed in [since, until), newest first."""
        a = AppealRecord
        query = select(a).order_by(a.created_at.desc(), a.id.desc()).limit(check_limit(limit))
        if since is not None:
            query = query.where(a.created_at >= _aware("since", since))
        if until is not None:
            query = query.where(a.created_at < _aware("until", until))
        with self._session_factory() as session:
            return [_view(AppealView, r) for r in session.scalars(query)]

    # --- complaints and technician requests ------------------------------------------------

    def add_request(
        self,
        kind: str,
        text: str,
        *,
        subscriber_id: int | None = None,
        contract: str = "",
        full_name: str = "",
        address: str = "",
        contact_phone: str = "",
        call_id: str = "",
        line: str = "",
        agent: str = "",
        at: datetime | None = None,
    ) -> ServiceRequestView:
        """A complaint or a technician request. It must say whose it is: a subscriber (by id
        or contract) or a contact phone. A known subscriber's contract, name and address are
        filled in from the directory (the caller is not asked again)."""
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        record = ServiceRequestRecord(
            created_at=_aware("at", at),
            kind=kind,
            text=required("text", text),
            contract=optional(normalise_contract(contract)),
            full_name=optional(full_name),
            address=optional(address),
            contact_phone=self.phone("contact_phone", contact_phone),
            call_id=optional(call_id),
            line=optional(line),
            agent=optional(agent),
        )
        account = self._account(subscriber_id, record.contract)
        if account is None and record.contract is None and record.contact_phone is None:
            raise ValueError(
                "contact_phone: required when neither subscriber_id nor contract is given"
            )
        if account is not None:
            record.subscriber_id = account.id
            record.contract = account.contract
            record.full_name = record.full_name or account.full_name or None
            record.address = record.address or account.address or None
        self._insert(record)
        return _view(ServiceRequestView, record)

    def requests(
        self, kind: str | None = None, subscriber_id: int | None = None, limit: int = 100
    ) -> list[ServiceRequestView]:
        """Requests of one kind and/or one subscriber, newest first."""
        r = ServiceRequestRecord
        query = select(r).order_by(r.created_at.desc(), r.id.desc()).limit(check_limit(limit))
        if kind is not None:
            if kind not in KINDS:
                raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
            query = query.where(r.kind == kind)
        if subscriber_id is not None:
            query = query.where(r.subscriber_id == subscriber_id)
        with self._session_factory() as session:
            return [_view(ServiceRequestView, x) for x in session.scalars(query)]

    # --- unreachable-number reports filed by operators -------------------------------------

    def add_unreachable(self, event: UnreachableReported) -> UnreachableReportView:
        """Store an operator's report at once (the voice menu's go through ReportWriter) and
        return it with its id. A known subscriber's contract, name and address are filled
        in from the directory."""
        if not normalise_phone(event.reported_line):
            raise ValueError(
                f"reported_line: expected the unreachable service number (digits), "
                f"got {event.reported_line!r}"
            )
        if event.problem not in PROBLEMS:
            raise ValueError(
                f"problem: expected one of {', '.join(PROBLEMS)}, got {event.problem!r}"
            )
        event = dataclasses.replace(
            event,
            published=required("published", event.published),
            dialled_from=self.required_phone("dialled_from", event.dialled_from),
            caller=self.phone("caller", event.caller) or "",
            call_id=clean(event.call_id),
            via_line=clean(event.via_line),
            full_name=clean(event.full_name),
            address=clean(event.address),
            details=clean(event.details),
            at=_aware("at", event.at),
        )
        if event.subscriber_id is not None:
            contract = normalise_contract(event.contract) or None
            account = self._account(event.subscriber_id, contract)
            assert account is not None
            event = dataclasses.replace(
                event,
                contract=account.contract,
                full_name=event.full_name or account.full_name,
                address=event.address or account.address,
            )
        table, row = report_row(event)
        assert table is UnreachableReportRecord
        record = UnreachableReportRecord(**row)
        self._insert(record)
        return UnreachableReportView.of(record)

    # --- lookups for the agent view --------------------------------------------------------

    def subscribers_with_phone(self, phone: str) -> list[Subscriber]:
        """Every account with this phone (a shared home phone may belong to several)."""
        digits = normalise_phone(phone, self._country_code)
        if not digits:
            return []
        query = (
            select(SubscriberRecord)
            .join(SubscriberPhone)
            .where(SubscriberPhone.phone == digits)
            .options(selectinload(SubscriberRecord.phones))
            .order_by(SubscriberRecord.id)
        )
        with self._session_factory() as session:
            return [subscriber_of(r) for r in session.scalars(query).unique()]

    def outages(self, now: datetime, active: bool | None = None) -> list[OutageView]:
        """The outage board: every outage, or only those active (or not active) at `now`;
        the most recently started first."""
        now = _aware("now", now)
        o = OutageRecord
        query = select(o).order_by(o.starts_at.desc(), o.id.desc())
        with self._session_factory() as session:
            views = [
                _view(OutageView, r, active=_is_active(r, now)) for r in session.scalars(query)
            ]
        return [v for v in views if active is None or v.active == active]

    def outage(self, outage_id: int, now: datetime) -> OutageView | None:
        now = _aware("now", now)
        with self._session_factory() as session:
            record = session.get(OutageRecord, outage_id)
            if record is None:
                return None
            return _view(OutageView, record, active=_is_active(record, now))

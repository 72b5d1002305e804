"""The shared subscriber database and the outage board, stored with SQLAlchemy.

`StoreDirectory` is the flow's `Directory`: its async reads run in a worker thread, so a
call never blocks the event loop on the database. Its blocking admin methods (add an
account, reconcile its phones, post and end outages) serve the API, the seed and tests.
"""

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ivr.storage.db import writing
from ivr.storage.models import OutageRecord, SubscriberPhone, SubscriberRecord
from ivr.subscribers import Outage, Subscriber

SessionFactory = Callable[[], Session]


def normalise_phone(text: str, country_code: str = "") -> str:
    """Digits only: "+38 (044) 123-45-67" -> "380441234567"; "" stays "". With a country
    code, national and 00-prefixed numbers become international: "0441234567" and
    "00380441234567" -> "380441234567" for "380" (caller IDs come in either form)."""
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if country_code and digits.startswith("00"):
        return digits[2:]
    if country_code and digits.startswith("0"):
        return country_code + digits[1:]
    return digits


def normalise_contract(text: str) -> str:
    """A contract number as typed or spoken back: spaces dropped."""
    return "".join(text.split())


def subscriber_of(record: SubscriberRecord) -> Subscriber:
    return Subscriber(
        id=record.id,
        contract=record.contract,
        full_name=record.full_name,
        address=record.address,
        city=record.city,
        region_office=record.region_office,
        phones=tuple(sorted(p.phone for p in record.phones)),
    )


def outage_of(record: OutageRecord) -> Outage:
    return Outage(
        id=record.id,
        area=record.area,
        service=record.service,
        message=record.message,
        expected_restore=record.expected_restore,
    )


def clean_phones(phones: Iterable[str], country_code: str = "") -> list[str]:
    """Normalised, without duplicates, in order; a phone without digits is an error."""
    out: list[str] = []
    for phone in phones:
        digits = normalise_phone(phone, country_code)
        if not digits:
            raise ValueError(f"phone {phone!r}: no digits")
        if digits not in out:
            out.append(digits)
    return out


def set_phones(record: SubscriberRecord, add: Iterable[str], remove: Iterable[str] = ()) -> None:
    """Attach `add`, detach `remove` (numbers already normalised)."""
    drop = set(remove)
    record.phones = [p for p in record.phones if p.phone not in drop]
    have = {p.phone for p in record.phones}
    record.phones.extend(SubscriberPhone(phone=phone) for phone in add if phone not in have)


def find_by_contract(session: Session, contract: str) -> SubscriberRecord | None:
    return session.scalars(
        select(SubscriberRecord)
        .where(SubscriberRecord.contract == contract)
        .options(selectinload(SubscriberRecord.phones))
    ).one_or_none()


def _now() -> datetime:
    return datetime.now(UTC)


def _required(name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{name}: must not be empty")
    return value


def new_outage(
    area: str,
    service: str,
    message: str,
    expected_restore: datetime | None = None,
    starts_at: datetime | None = None,
) -> OutageRecord:
    """An outage row to add (ValueError for an empty area or message)."""
    return OutageRecord(
        area=_required("area", area),
        service=service.strip(),
        message=_required("message", message),
        starts_at=starts_at or _now(),
        expected_restore=expected_restore,
    )


class StoreDirectory:
    """The subscriber directory and outage board (ivr.flow.context.Directory)."""

    def __init__(self, session_factory: SessionFactory, country_code: str = "") -> None:
        self._session_factory = session_factory
        self._country_code = country_code

    # --- reads for the call path (async: the query runs in a worker thread) -------------

    async def subscriber_by_phone(self, phone: str) -> Subscriber | None:
        """The one account with this phone; None when no account or several accounts have
        it (ambiguous: the flow asks for the contract)."""
        return await asyncio.to_thread(self.find_by_phone, phone)

    async def subscriber_by_contract(self, contract: str) -> Subscriber | None:
        return await asyncio.to_thread(self.find_by_contract, contract)

    async def active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        """The outage for `area` covering `service` (or all services; `service` "" asks
        for any outage) active at `at`; the most recently started one when several are."""
        return await asyncio.to_thread(self.find_active_outage, area, service, at)

    # --- the same reads, blocking -------------------------------------------------------

    def find_by_phone(self, phone: str) -> Subscriber | None:
        digits = normalise_phone(phone, self._country_code)
        if not digits:
            return None
        with self._session_factory() as session:
            ids = session.scalars(
                select(SubscriberPhone.subscriber_id)
                .where(SubscriberPhone.phone == digits)
                .distinct()
                .limit(2)
            ).all()
            if len(ids) != 1:
                return None
            record = session.scalars(
                select(SubscriberRecord)
                .where(SubscriberRecord.id == ids[0])
                .options(selectinload(SubscriberRecord.phones))
            ).one()
            return subscriber_of(record)

    def has_phone(self, phone: str) -> bool:
        """Whether any account has this phone (one or several)."""
        digits = normalise_phone(phone, self._country_code)
        if not digits:
            return False
        with self._session_factory() as session:
            found = session.scalars(
                select(SubscriberPhone.id).where(SubscriberPhone.phone == digits).limit(1)
            ).first()
            return found is not None

    def find_by_id(self, subscriber_id: int) -> Subscriber | None:
        with self._session_factory() as session:
            record = session.scalars(
                select(SubscriberRecord)
                .where(SubscriberRecord.id == subscriber_id)
                .options(selectinload(SubscriberRecord.phones))
            ).one_or_none()
            return subscriber_of(record) if record is not None else None

    def find_by_contract(self, contract: str) -> Subscriber | None:
        contract = normalise_contract(contract)
        if not contract:
            return None
        with self._session_factory() as session:
            record = find_by_contract(session, contract)
            return subscriber_of(record) if record is not None else None

    def find_active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        # Area compared in Python: SQLite's lower() only folds ASCII (Львів, ЛЬВІВ).
        key = area.strip().casefold()
        if not key:
            return None
        services = [] if not service else [OutageRecord.service.in_([service, ""])]
        with self._session_factory() as session:
            records = session.scalars(
                select(OutageRecord)
                .where(
                    *services,
                    OutageRecord.starts_at <= at,
                    OutageRecord.ended_at.is_(None) | (OutageRecord.ended_at > at),
                )
                .order_by(OutageRecord.starts_at.desc(), OutageRecord.id.desc())
            ).all()
            for record in records:
                if record.area.strip().casefold() == key:
                    return outage_of(record)
            return None

    # --- administration (blocking) ------------------------------------------------------

    def add_subscriber(
        self,
        contract: str,
        full_name: str,
        address: str,
        city: str,
        region_office: str,
        phones: Iterable[str] = (),
    ) -> Subscriber:
        """A new account; ValueError when the contract number is taken."""
        contract = _required("contract", normalise_contract(contract))
        numbers = clean_phones(phones, self._country_code)
        record = SubscriberRecord(
            contract=contract,
            full_name=full_name.strip(),
            address=address.strip(),
            city=city.strip(),
            region_office=region_office.strip(),
        )
        set_phones(record, numbers)
        taken = ValueError(f"contract {contract!r}: already belongs to another subscriber")
        try:
            with writing(self._session_factory) as session:
                if find_by_contract(session, contract) is not None:
                    raise taken
                session.add(record)
        except IntegrityError:  # added meanwhile by someone else
            raise taken from None
        return subscriber_of(record)

    def reconcile_phones(
        self, subscriber_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> Subscriber:
        """The operator's phone reconciliation: attach new numbers, detach dead ones.
        LookupError for an unknown account; ValueError for a number in both lists."""
        added = clean_phones(add, self._country_code)
        removed = clean_phones(remove, self._country_code)
        both = set(added) & set(removed)
        if both:
            raise ValueError(f"phones both added and removed: {', '.join(sorted(both))}")
        with writing(self._session_factory) as session:
            record = session.get(
                SubscriberRecord, subscriber_id, options=[selectinload(SubscriberRecord.phones)]
            )
            if record is None:
                raise LookupError(f"subscriber {subscriber_id}: no such account")
            set_phones(record, added, removed)
            session.flush()
            return subscriber_of(record)

    def post_outage(
        self,
        area: str,
        service: str,
        message: str,
        expected_restore: datetime | None = None,
        starts_at: datetime | None = None,
    ) -> Outage:
        """Post an outage for `area` and `service` ("" = every service), from `starts_at`
        (default: now)."""
        record = new_outage(area, service, message, expected_restore, starts_at)
        with writing(self._session_factory) as session:
            session.add(record)
        return outage_of(record)

    def end_outage(self, outage_id: int, at: datetime | None = None) -> None:
        """Mark the outage over at `at` (default: now). An outage already ended keeps its
        end time; LookupError for an unknown outage."""
        with writing(self._session_factory) as session:
            # PostgreSQL: the row lock makes a second end wait and then see the first one's.
            record = session.get(OutageRecord, outage_id, with_for_update=True)
            if record is None:
                raise LookupError(f"outage {outage_id}: no such outage")
            if record.ended_at is None:
                record.ended_at = at or _now()

    def outages(self, active_at: datetime | None = None) -> list[Outage]:
        """Every outage, or those active at `active_at`; the most recently started first."""
        with self._session_factory() as session:
            query = select(OutageRecord).order_by(
                OutageRecord.starts_at.desc(), OutageRecord.id.desc()
            )
            if active_at is not None:
                query = query.where(
                    OutageRecord.starts_at <= active_at,
                    OutageRecord.ended_at.is_(None) | (OutageRecord.ended_at > active_at),
                )
            return [outage_of(record) for record in session.scalars(query)]

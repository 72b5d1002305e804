"""Load subscribers and outages from a YAML file into the store (demo data, test rigs).

Idempotent: a subscriber is upserted by contract with exactly the listed phones; an outage
is upserted by (area, service, message). Everything runs in one transaction.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import PROJECT_ROOT
from ivr.storage.db import writing
from ivr.storage.directory import clean_phones, find_by_contract, normalise_contract, set_phones
from ivr.storage.models import OutageRecord, SubscriberRecord

SessionFactory = Callable[[], Session]
DEMO_STORE = PROJECT_ROOT / "data" / "demo-store.yaml"  # the demo's (and tests') subscribers


@dataclass(frozen=True)
class SeedResult:
    subscribers: int
    outages: int


@dataclass(frozen=True)
class _SubscriberSeed:
    contract: str
    full_name: str
    address: str
    city: str
    region_office: str
    phones: tuple[str, ...]


@dataclass(frozen=True)
class _OutageSeed:
    area: str
    service: str
    message: str
    starts_at: datetime | None
    expected_restore: datetime | None
    ended_at: datetime | None


# --- validation ---------------------------------------------------------------------------


def _entries(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise ValueError(f"{key}: expected a list, got {type(items).__name__}")
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValueError(f"{key}[{n}]: expected a mapping, got {type(item).__name__}")
    return items


def _text(entry: Mapping[str, Any], field: str, where: str, *, required: bool = True) -> str:
    value = entry.get(field, "")
    if not isinstance(value, str):  # e.g. an unquoted 01234567 is an octal number in YAML
        raise ValueError(f"{where}: {field}: expected quoted text, got {value!r}")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{where}: {field}: missing")
    return value


def _time(entry: Mapping[str, Any], field: str, where: str) -> datetime | None:
    value = entry.get(field)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{where}: {field}: not an ISO 8601 time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{where}: {field}: expected a time, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"{where}: {field}: give a UTC offset, e.g. {value.isoformat()}+02:00")
    return value.astimezone(UTC)


def _subscribers(data: Mapping[str, Any]) -> list[_SubscriberSeed]:
    out: list[_SubscriberSeed] = []
    seen: set[str] = set()
    for n, entry in enumerate(_entries(data, "subscribers")):
        where = f"subscribers[{n}]"
        contract = normalise_contract(_text(entry, "contract", where))
        where = f"subscribers[{n}] (contract {contract!r})"
        if contract in seen:
            raise ValueError(f"{where}: contract listed twice")
        seen.add(contract)
        phones = entry.get("phones") or []
        if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
            raise ValueError(f"{where}: phones: expected a list of quoted numbers")
        try:
            numbers = clean_phones(phones)
        except ValueError as exc:
            raise ValueError(f"{where}: phones: {exc}") from None
        out.append(
            _SubscriberSeed(
                contract=contract,
                full_name=_text(entry, "full_name", where),
                address=_text(entry, "address", where),
                city=_text(entry, "city", where),
                region_office=_text(entry, "region_office", where, required=False),
                phones=tuple(numbers),
            )
        )
    return out


def _outages(data: Mapping[str, Any]) -> list[_OutageSeed]:
    out: list[_OutageSeed] = []
    seen: set[tuple[str, str, str]] = set()
    for n, entry in enumerate(_entries(data, "outages")):
        where = f"outages[{n}]"
        seed = _OutageSeed(
            area=_text(entry, "area", where),
            service=_text(entry, "service", where, required=False),
            message=_text(entry, "message", where),
            starts_at=_time(entry, "starts_at", where),
            expected_restore=_time(entry, "expected_restore", where),
            ended_at=_time(entry, "ended_at", where),
        )
        key = (seed.area, seed.service, seed.message)
        if key in seen:
            raise ValueError(f"{where}: same area, service and message as an earlier outage")
        seen.add(key)
        out.append(seed)
    return out


def _parse(data: Mapping[str, Any]) -> tuple[list[_SubscriberSeed], list[_OutageSeed]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a mapping with subscribers and outages, got {data!r}")
    unknown = set(data) - {"subscribers", "outages"}
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    return _subscribers(data), _outages(data)


def load_seed_file(path: str | Path) -> Mapping[str, Any]:
    """The seed file's data, checked (ValueError naming the file and the bad entry)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    try:
        _parse(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    assert isinstance(data, Mapping)
    return data


# --- writing ------------------------------------------------------------------------------


def _upsert_subscriber(session: Session, seed: _SubscriberSeed) -> None:
    record = find_by_contract(session, seed.contract)
    if record is None:
        record = SubscriberRecord(contract=seed.contract)
        session.add(record)
    record.full_name = seed.full_name
    record.address = seed.address
    record.city = seed.city
    record.region_office = seed.region_office
    dead = [p.phone for p in record.phones if p.phone not in seed.phones]
    set_phones(record, seed.phones, dead)


def _upsert_outage(session: Session, seed: _OutageSeed) -> None:
    record = session.scalars(
        select(OutageRecord)
        .where(
            OutageRecord.area == seed.area,
            OutageRecord.service == seed.service,
            OutageRecord.message == seed.message,
        )
        .order_by(OutageRecord.id)
        .limit(1)
    ).one_or_none()
    if record is None:
        record = OutageRecord(area=seed.area, service=seed.service, message=seed.message)
        record.starts_at = seed.starts_at or datetime.now(UTC)
        session.add(record)
    elif seed.starts_at is not None:
        record.starts_at = seed.starts_at
    record.expected_restore = seed.expected_restore
    record.ended_at = seed.ended_at


def seed_store(session_factory: SessionFactory, data: Mapping[str, Any]) -> SeedResult:
    """Upsert the subscribers and outages in `data` (one transaction)."""
    subscribers, outages = _parse(data)
    with writing(session_factory) as session:
        for subscriber in subscribers:
            _upsert_subscriber(session, subscriber)
            session.flush()  # the next lookups see it (and a bad row fails here)
        for outage in outages:
            _upsert_outage(session, outage)
    return SeedResult(subscribers=len(subscribers), outages=len(outages))

"""Seeding the store from YAML: the demo file, idempotence, phone reconciliation, errors."""

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.directory import StoreDirectory
from ivr.storage.models import OutageRecord, SubscriberPhone, SubscriberRecord
from ivr.storage.seed import DEMO_STORE, SeedResult, load_seed_file, seed_store


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (SubscriberRecord, SubscriberPhone, OutageRecord)
        )


def test_the_demo_file_loads_and_is_what_the_demos_expect() -> None:
    data = load_seed_file(DEMO_STORE)
    subscribers = data["subscribers"]
    assert len(subscribers) == 6
    assert {s["city"] for s in subscribers} == {"Kyiv", "Lviv"}
    assert all(len(s["contract"]) == 8 and s["contract"].isdigit() for s in subscribers)
    assert all(1 <= len(s["phones"]) <= 3 for s in subscribers)
    assert any("á" in s["full_name"] for s in subscribers)  # the Hungarian name


async def test_seeding_the_demo_file_twice_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    data = load_seed_file(DEMO_STORE)
    assert seed_store(sessions, data) == SeedResult(subscribers=6, outages=1)
    first = counts(sessions)
    assert seed_store(sessions, data) == SeedResult(subscribers=6, outages=1)
    assert counts(sessions) == first == (6, 12, 1)

    directory = StoreDirectory(sessions)
    kyiv = await directory.subscriber_by_phone("+38 (044) 123-45-67")
    assert kyiv is not None and kyiv.contract == "10000001" and len(kyiv.phones) == 3
    lviv = await directory.subscriber_by_phone("380322000111")
    assert lviv is not None and (lviv.contract, lviv.city) == ("20000002", "Lviv")
    assert await directory.subscriber_by_phone("380440000000") is None  # two accounts
    outage = await directory.active_outage("lviv", "internet", datetime.now(UTC))
    assert outage is not None
    assert outage.message == "Ремонт кабелю на вулиці Городоцькій"
    assert outage.expected_restore == datetime(2030, 1, 1, 16, 0, tzinfo=UTC)


async def test_reseeding_reconciles_phones_and_updates_outages(
    sessions: sessionmaker[Session],
) -> None:
    data: dict[str, Any] = copy.deepcopy(dict(load_seed_file(DEMO_STORE)))
    seed_store(sessions, data)
    directory = StoreDirectory(sessions)
    first = directory.find_by_contract("10000001")
    assert first is not None

    data["subscribers"][0]["phones"] = ["380441234567", "+36 30 999 8877"]
    data["subscribers"][0]["full_name"] = "Шевченко Т. Г."
    data["outages"][0]["expected_restore"] = "2031-01-01T00:00:00+00:00"
    assert seed_store(sessions, data) == SeedResult(subscribers=6, outages=1)

    after = directory.find_by_contract("10000001")
    assert after is not None
    assert after.id == first.id
    assert after.phones == ("36309998877", "380441234567")
    assert after.full_name == "Шевченко Т. Г."
    assert directory.find_by_phone(first.phones[1]) is None  # the dropped numbers
    [outage] = directory.outages()
    assert outage.expected_restore == datetime(2031, 1, 1, tzinfo=UTC)
    assert counts(sessions) == (6, 11, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- 1\n", "expected a mapping"),
        ("subscriber: []\n", "unknown keys: subscriber"),
        ("subscribers:\n  - contract: 01234567\n", r"subscribers\[0\]: contract: expected quoted"),
        (
            'subscribers:\n  - {contract: "1", full_name: A, address: B, city: C,'
            " phones: [380441234567]}\n",
            r"subscribers\[0\] \(contract '1'\): phones: expected a list of quoted numbers",
        ),
        (
            'subscribers:\n  - {contract: "1", full_name: A, address: B, city: C, phones: ["x"]}\n',
            r"subscribers\[0\] \(contract '1'\): phones: phone 'x': no digits",
        ),
        (
            'subscribers:\n  - {contract: "1", full_name: A, address: B, city: C}\n'
            '  - {contract: "1", full_name: A, address: B, city: C}\n',
            r"subscribers\[1\] \(contract '1'\): contract listed twice",
        ),
        (
            'subscribers:\n  - {contract: "1", address: B, city: C}\n',
            r"subscribers\[0\] \(contract '1'\): full_name: missing",
        ),
        ("outages:\n  - {area: Kyiv, message: M, starts_at: tomorrow}\n", "not an ISO 8601"),
        (
            'outages:\n  - {area: Kyiv, message: M, starts_at: "2026-01-01T00:00:00"}\n',
            r"outages\[0\]: starts_at: give a UTC offset",
        ),
        ("outages:\n  - {area: Kyiv}\n", r"outages\[0\]: message: missing"),
        ("subscribers: [\n", "not valid YAML"),
    ],
)
def test_bad_seed_files_are_refused_naming_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "store.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        load_seed_file(path)
    assert str(path) in str(caught.value)


def test_a_bad_entry_writes_nothing(sessions: sessionmaker[Session]) -> None:
    data = {
        "subscribers": [
            {"contract": "1", "full_name": "A", "address": "B", "city": "C", "phones": ["1"]},
            {"contract": "2", "full_name": "A", "address": "B", "city": "C", "phones": [2]},
        ]
    }
    with pytest.raises(ValueError, match=r"subscribers\[1\]"):
        seed_store(sessions, data)
    assert counts(sessions) == (0, 0, 0)

"""The subscriber directory and the outage board on both backends."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.flow.context import Directory
from ivr.storage.directory import StoreDirectory, normalise_phone
from ivr.storage.models import SubscriberPhone
from ivr.subscribers import Outage, Subscriber

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def directory(sessions: sessionmaker[Session]) -> StoreDirectory:
    return StoreDirectory(sessions)


def add_shevchenko(directory: StoreDirectory) -> Subscriber:
    return directory.add_subscriber(
        "10000001",
        "Шевченко Тарас Григорович",
        "вул. Хрещатик, 22, кв. 15",
        "Kyiv",
        "Печерський офіс",
        ["+38 (067) 111-22-33", "380441234567", "380505554433", "380441234567"],
    )


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("+38 (044) 123-45-67", "380441234567"),
        ("380441234567", "380441234567"),
        ("", ""),
        ("anonymous", ""),
        ("٣٨٠", ""),  # only ASCII digits: Asterisk never sends others
    ],
)
def test_normalise_phone(text: str, digits: str) -> None:
    assert normalise_phone(text) == digits


def test_store_directory_is_a_directory(directory: StoreDirectory) -> None:
    checked: Directory = directory  # mypy checks the protocol
    assert checked is directory


async def test_an_account_with_many_phones_is_found_by_each(directory: StoreDirectory) -> None:
    added = add_shevchenko(directory)
    assert added.phones == ("380441234567", "380505554433", "380671112233")  # sorted, no dups

    for phone in ("380441234567", "+38 (044) 123-45-67", "380671112233", "+380505554433"):
        assert await directory.subscriber_by_phone(phone) == added
    assert added.full_name == "Шевченко Тарас Григорович"
    assert added.region_office == "Печерський офіс"
    assert await directory.subscriber_by_phone("380440000000") is None
    assert await directory.subscriber_by_phone("") is None
    assert await directory.subscriber_by_phone("anonymous") is None


async def test_a_phone_shared_by_two_accounts_identifies_nobody(
    directory: StoreDirectory,
) -> None:
    ivanov = directory.add_subscriber(
        "10000003", "Иванов Сергей", "ул. Саксаганского, 41", "Kyiv", "Голосіїв", ["380440000000"]
    )
    directory.add_subscriber(
        "10000004", "Иванова Ольга", "ул. Саксаганского, 41", "Kyiv", "Голосіїв", ["380440000000"]
    )
    assert await directory.subscriber_by_phone("380440000000") is None  # ask for the contract
    assert await directory.subscriber_by_contract("10000003") == ivanov


def test_lookup_by_id(directory: StoreDirectory) -> None:
    added = add_shevchenko(directory)
    assert directory.find_by_id(added.id) == added
    assert directory.find_by_id(added.id + 1000) is None


async def test_contract_lookup(directory: StoreDirectory) -> None:
    added = add_shevchenko(directory)
    assert await directory.subscriber_by_contract("10000001") == added
    assert await directory.subscriber_by_contract(" 1000 0001 ") == added
    assert await directory.subscriber_by_contract("10000002") is None
    assert await directory.subscriber_by_contract("") is None


def test_duplicate_contract_is_refused(directory: StoreDirectory) -> None:
    add_shevchenko(directory)
    with pytest.raises(ValueError, match="contract '10000001': already belongs"):
        directory.add_subscriber("1000 0001", "Інший", "адреса", "Kyiv", "офіс", [])
    with pytest.raises(ValueError, match="no digits"):
        directory.add_subscriber("10000009", "Інший", "адреса", "Kyiv", "офіс", ["n/a"])
    assert directory.find_by_contract("10000009") is None


async def test_reconcile_adds_new_phones_and_removes_dead_ones(
    directory: StoreDirectory, sessions: sessionmaker[Session]
) -> None:
    added = add_shevchenko(directory)
    after = directory.reconcile_phones(
        added.id, add=["+36 30 123 4567", "380441234567"], remove=["+38 050 555 44 33", "1"]
    )
    assert after.phones == ("36301234567", "380441234567", "380671112233")
    assert await directory.subscriber_by_phone("36301234567") == after
    assert await directory.subscriber_by_phone("380505554433") is None
    assert directory.find_by_contract("10000001") == after
    with sessions() as session:  # the dead number's row is gone, not just detached
        assert session.scalar(select(func.count()).select_from(SubscriberPhone)) == 3

    with pytest.raises(ValueError, match="both added and removed: 380441234567"):
        directory.reconcile_phones(added.id, add=["380441234567"], remove=["+380441234567"])
    with pytest.raises(LookupError, match="no such account"):
        directory.reconcile_phones(added.id + 1000, add=["1"])


# --- outages ------------------------------------------------------------------------------


async def test_outage_area_is_case_insensitive_and_covers_its_service(
    directory: StoreDirectory,
) -> None:
    posted = directory.post_outage(
        "Lviv",
        "internet",
        "Ремонт кабелю на вулиці Городоцькій",
        expected_restore=NOW + timedelta(hours=4),
        starts_at=NOW - timedelta(hours=1),
    )
    assert posted == Outage(
        posted.id,
        "Lviv",
        "internet",
        "Ремонт кабелю на вулиці Городоцькій",
        NOW + timedelta(hours=4),
    )
    assert await directory.active_outage("lviv", "internet", NOW) == posted
    assert await directory.active_outage("LVIV", "internet", NOW) == posted
    assert await directory.active_outage("Lviv", "tv", NOW) is None
    assert await directory.active_outage("Kyiv", "internet", NOW) is None

    cyrillic = directory.post_outage("Львів", "tv", "Аварія", starts_at=NOW - timedelta(hours=1))
    assert await directory.active_outage("ЛЬВІВ", "tv", NOW) == cyrillic  # not only ASCII


async def test_an_outage_for_every_service_covers_them_all(directory: StoreDirectory) -> None:
    everything = directory.post_outage("Kyiv", "", "Планові роботи", starts_at=NOW)
    for service in ("internet", "tv", "electricity"):
        assert await directory.active_outage("Kyiv", service, NOW) == everything


async def test_ended_and_future_outages_are_ignored(directory: StoreDirectory) -> None:
    ended = directory.post_outage("Kyiv", "tv", "Вчора", starts_at=NOW - timedelta(days=1))
    directory.end_outage(ended.id, at=NOW - timedelta(hours=2))
    directory.post_outage("Kyiv", "tv", "Завтра", starts_at=NOW + timedelta(days=1))
    assert await directory.active_outage("Kyiv", "tv", NOW) is None
    # Before it ended, the ended one was active.
    before = await directory.active_outage("Kyiv", "tv", NOW - timedelta(hours=3))
    assert before == ended

    directory.end_outage(ended.id, at=NOW)  # ending twice keeps the first end
    assert await directory.active_outage("Kyiv", "tv", NOW - timedelta(hours=3)) == ended
    with pytest.raises(LookupError):
        directory.end_outage(ended.id + 1000)


async def test_the_most_recently_started_outage_wins(directory: StoreDirectory) -> None:
    directory.post_outage("Kyiv", "", "Стара аварія", starts_at=NOW - timedelta(hours=5))
    newest = directory.post_outage("Kyiv", "internet", "Нова", starts_at=NOW - timedelta(hours=1))
    directory.post_outage("Kyiv", "internet", "Середня", starts_at=NOW - timedelta(hours=3))
    assert await directory.active_outage("Kyiv", "internet", NOW) == newest
    assert [o.message for o in directory.outages()] == ["Нова", "Середня", "Стара аварія"]
    active = directory.outages(active_at=NOW - timedelta(hours=2))
    assert [o.message for o in active] == ["Середня", "Стара аварія"]


def test_post_outage_defaults_to_now_and_checks_its_input(directory: StoreDirectory) -> None:
    before = datetime.now(UTC)
    posted = directory.post_outage("Kyiv", "tv", "Зараз")
    assert posted.expected_restore is None
    assert directory.find_active_outage("Kyiv", "tv", datetime.now(UTC)) == posted
    assert directory.find_active_outage("Kyiv", "tv", before - timedelta(seconds=1)) is None
    with pytest.raises(ValueError, match="area"):
        directory.post_outage(" ", "tv", "x")
    with pytest.raises(ValueError, match="message"):
        directory.post_outage("Kyiv", "tv", "")


async def test_lookups_do_not_block_the_event_loop(sessions: sessionmaker[Session]) -> None:
    """The query runs in a worker thread: the loop keeps serving other calls meanwhile."""
    entered, release = threading.Event(), threading.Event()

    def slow_database() -> Session:
        entered.set()
        release.wait(10)
        return sessions()

    directory = StoreDirectory(slow_database)
    lookup = asyncio.create_task(directory.subscriber_by_phone("380441234567"))
    assert await asyncio.to_thread(entered.wait, 5)
    ticks = 0
    for _ in range(5):  # the loop still runs while the lookup waits on the database
        await asyncio.sleep(0)
        ticks += 1
    assert ticks == 5 and not lookup.done()
    release.set()
    assert await asyncio.wait_for(lookup, 5) is None


@pytest.mark.parametrize("caller", ["0441234567", "00380441234567", "+380441234567"])
async def test_a_national_caller_id_finds_the_international_number(
    sessions: sessionmaker[Session], caller: str
) -> None:
    directory = StoreDirectory(sessions, country_code="380")
    directory.add_subscriber("10000001", "Іван", "Київ", "Kyiv", "Kyiv", ["+380441234567"])
    found = await directory.subscriber_by_phone(caller)
    assert found is not None and found.contract == "10000001"
    assert await StoreDirectory(sessions).subscriber_by_phone("0441234567") is None


def test_concurrent_phone_reconciliations_all_land(directory: StoreDirectory) -> None:
    """Read-then-write transactions from several threads: none fails with "database is
    locked" on SQLite, and no phone is lost."""
    added = add_shevchenko(directory)
    phones = [f"38050000{n:04d}" for n in range(24)]

    def reconcile(phone: str) -> None:
        directory.reconcile_phones(added.id, add=[phone])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(reconcile, phones))
    found = directory.find_by_id(added.id)
    assert found is not None and set(phones) <= set(found.phones)

"""The operator's desk on both backends: appeals, complaints and technician requests,
operator-filed unreachable reports, and the desk's lookups."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import UnreachableReported
from ivr.storage.desk import Conflict, DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.reports import ReportRepository
from ivr.subscribers import Subscriber

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(sessions: sessionmaker[Session]) -> DeskStore:
    return DeskStore(sessions, country_code="380")


@pytest.fixture
def shevchenko(sessions: sessionmaker[Session]) -> Subscriber:
    return StoreDirectory(sessions, "380").add_subscriber(
        "10000001",
        "Шевченко Тарас Григорович",
        "вул. Хрещатик, 22, кв. 15",
        "Київ",
        "Печерський офіс",
        ["067 111 22 33"],
    )


def appeal(desk: DeskStore, n: int = 0, **changes: str) -> object:
    fields = {
        "city": "Debrecen",
        "organisation": "Hajdú-Bihari Lakásszövetkezet",
        "full_name": "Kovács Éva",
        "contact_phone": "+36 (52) 123-456",
        "purpose": "Közös képviselő: árajánlatot kér a kábelhálózat felújítására",
        "position": "elnök",
        **changes,
    }
    return desk.add_appeal(**fields, at=T0 + timedelta(minutes=n))  # type: ignore[arg-type]


def report(**changes: object) -> UnreachableReported:
    event = UnreachableReported(
        call_id="c1",
        reported_line="0 800 50-50-50",
        via_line="5551000",
        published="листівка",
        dialled_from="067 111 22 33",
        problem="no_answer",
        caller="+380 67 999 88 77",
        source="operator",
        at=T0,
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def test_an_appeal_is_stored_in_unicode_with_its_phone_normalised(desk: DeskStore) -> None:
    added = appeal(desk, line="5551000", agent="1001", call_id="1700000000.1")
    [stored] = desk.appeals()
    assert stored == added
    assert stored.id > 0 and stored.created_at == T0 and stored.status == "new"
    assert stored.organisation == "Hajdú-Bihari Lakásszövetkezet"
    assert stored.purpose.startswith("Közös képviselő")
    assert stored.contact_phone == "3652123456"
    assert (stored.line, stored.agent, stored.position) == ("5551000", "1001", "elnök")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("city", "  ", "city: must not be empty"),
        ("organisation", "", "organisation: must not be empty"),
        ("full_name", "\x00", "full_name: must not be empty"),
        ("purpose", "\n", "purpose: must not be empty"),
        ("contact_phone", "", "contact_phone: must not be empty"),
        ("contact_phone", "немає", "contact_phone: expected a phone number with digits"),
    ],
)
def test_an_appeal_needs_its_fields(desk: DeskStore, field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        appeal(desk, **{field: value})
    assert desk.appeals() == []


def test_appeals_are_listed_newest_first_within_the_window(desk: DeskStore) -> None:
    for n in range(4):
        appeal(desk, n, full_name=f"Петренко {n}")
    names = [a.full_name for a in desk.appeals()]
    assert names == ["Петренко 3", "Петренко 2", "Петренко 1", "Петренко 0"]
    kyiv = timezone(timedelta(hours=2))
    window = desk.appeals(since=T0.astimezone(kyiv) + timedelta(minutes=1), until=T0 + timedelta(3))
    assert [a.full_name for a in window] == ["Петренко 3", "Петренко 2", "Петренко 1"]
    assert [a.full_name for a in desk.appeals(limit=1)] == ["Петренко 3"]
    with pytest.raises(ValueError, match=r"limit: expected 1\.\.1000"):
        desk.appeals(limit=0)


def test_a_request_of_a_known_subscriber_takes_his_data_from_the_directory(
    desk: DeskStore, shevchenko: Subscriber
) -> None:
    added = desk.add_request(
        "technician", "Немає інтернету з ранку, роутер блимає червоним", subscriber_id=shevchenko.id
    )
    assert added.subscriber_id == shevchenko.id and added.contract == "10000001"
    assert added.full_name == "Шевченко Тарас Григорович"
    assert added.address == "вул. Хрещатик, 22, кв. 15"
    by_contract = desk.add_request("complaint", "Двічі списали абонплату", contract="1000 0001")
    assert by_contract.subscriber_id == shevchenko.id and by_contract.kind == "complaint"
    assert desk.requests(subscriber_id=shevchenko.id) == [by_contract, added]
    assert desk.requests(kind="technician") == [added]


def test_a_request_from_an_unknown_caller_keeps_what_he_gave(desk: DeskStore) -> None:
    added = desk.add_request(
        "complaint",
        "Szerelő nem jött ki",
        full_name="Nagy Árpád",
        contact_phone="0671112233",
        contract="77 77",
    )
    assert added.subscriber_id is None and added.contract == "7777"
    assert (added.full_name, added.contact_phone) == ("Nagy Árpád", "380671112233")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "praise", "text": "x", "contact_phone": "1"}, "kind: expected one of"),
        ({"kind": "complaint", "text": " ", "contact_phone": "1"}, "text: must not be empty"),
        ({"kind": "complaint", "text": "x"}, "contact_phone: required when neither"),
        ({"kind": "complaint", "text": "x", "contact_phone": "ні"}, "contact_phone: expected a"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    desk: DeskStore, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        desk.add_request(**kwargs)  # type: ignore[arg-type]
    assert desk.requests() == []


def test_a_request_with_another_subscribers_contract_is_refused(
    desk: DeskStore, shevchenko: Subscriber
) -> None:
    with pytest.raises(Conflict, match="contract: 999 is not subscriber"):
        desk.add_request("complaint", "x", subscriber_id=shevchenko.id, contract="999")
    with pytest.raises(Conflict, match="contract: 999 is not subscriber"):
        desk.add_unreachable(report(subscriber_id=shevchenko.id, contract="999"))
    with pytest.raises(ValueError, match="kind: expected"):
        desk.requests(kind="praise")


def test_an_operator_report_is_stored_at_once_with_its_id(
    desk: DeskStore, sessions: sessionmaker[Session], shevchenko: Subscriber
) -> None:
    stored = desk.add_unreachable(
        report(subscriber_id=shevchenko.id, details="  Тиша після привітання  ")
    )
    assert stored.id > 0 and stored.source == "operator" and stored.status == "new"
    assert stored.reported_line == "0800505050"  # grouped by digits
    assert (stored.dialled_from, stored.caller) == ("380671112233", "380679998877")
    assert stored.contract == "10000001" and stored.full_name == "Шевченко Тарас Григорович"
    assert stored.details == "Тиша після привітання" and stored.published == "листівка"
    reports = ReportRepository(sessions)
    assert reports.unreachable_reports() == [stored]
    assert reports.unreachable_by_line() == [("0800505050", 1)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reported_line": "the other one"}, "reported_line: expected the unreachable"),
        ({"problem": "rude"}, "problem: expected one of no_answer, no_operator"),
        ({"published": " "}, "published: must not be empty"),
        ({"dialled_from": ""}, "dialled_from: must not be empty"),
        ({"caller": "hidden"}, "caller: expected a phone number"),
    ],
)
def test_a_bad_report_is_refused(
    desk: DeskStore, sessions: sessionmaker[Session], changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        desk.add_unreachable(report(**changes))
    assert ReportRepository(sessions).unreachable_reports() == []


def test_an_unknown_subscriber_is_a_lookup_error(
    desk: DeskStore, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(LookupError, match="subscriber_id: no subscriber 999"):
        desk.add_request("complaint", "x", subscriber_id=999)
    with pytest.raises(LookupError, match="subscriber_id: no subscriber 12345"):
        desk.add_unreachable(report(subscriber_id=12345))
    assert desk.requests() == [] and ReportRepository(sessions).unreachable_reports() == []


def test_every_account_with_a_phone_is_found(
    desk: DeskStore, sessions: sessionmaker[Session], shevchenko: Subscriber
) -> None:
    other = StoreDirectory(sessions, "380").add_subscriber(
        "10000002", "Шевченко Марія", "вул. Хрещатик, 22, кв. 15", "Київ", "", ["0671112233"]
    )
    assert desk.subscribers_with_phone("+380 67 111 22 33") == [shevchenko, other]
    assert desk.subscribers_with_phone("0441234567") == []
    assert desk.subscribers_with_phone("anonymous") == []


def test_the_outage_board_shows_times_and_what_is_active(
    desk: DeskStore, sessions: sessionmaker[Session]
) -> None:
    directory = StoreDirectory(sessions)
    old = directory.post_outage("Ужгород", "", "Аварія", starts_at=T0 - timedelta(days=1))
    directory.end_outage(old.id, at=T0 - timedelta(hours=1))
    now = directory.post_outage("Debrecen", "internet", "Áramszünet", starts_at=T0)
    later = directory.post_outage("Київ", "tv", "Роботи", starts_at=T0 + timedelta(days=1))

    board = desk.outages(T0 + timedelta(minutes=5))
    assert [(o.id, o.active) for o in board] == [(later.id, False), (now.id, True), (old.id, False)]
    assert board[2].ended_at == T0 - timedelta(hours=1) and board[1].message == "Áramszünet"
    assert [o.id for o in desk.outages(T0, active=True)] == [now.id]
    assert [o.id for o in desk.outages(T0, active=False)] == [later.id, old.id]
    assert desk.outage(now.id, T0) == board[1]
    assert desk.outage(999, T0) is None

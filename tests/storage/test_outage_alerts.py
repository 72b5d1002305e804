"""Outage alerts on both backends: raised, subsided, listed, posted as an outage in one
transaction (twice: 409's error) or dismissed; the journal's calls the detector counts."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.db import make_engine, make_session_factory, migrate, writing
from ivr.storage.desk import DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.models import CallRecord, OutageAlertRecord
from ivr.storage.outage_alerts import AlertHandled, OutageAlertStore
from tests.storage.query_plans import journal_query_plans

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def alert(city: str = "Kyiv", choice: str = "menu:2", at: datetime = NOW) -> OutageAlertRecord:
    return OutageAlertRecord(
        raised_at=at,
        city=city,
        line="5551000",
        choice=choice,
        calls=14,
        usual=1.5,
        window=600.0,
        message="масові звернення",
        language="uk",
    )


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> OutageAlertStore:
    return OutageAlertStore(sessions)


def test_an_alert_is_listed_and_its_spike_subsides(store: OutageAlertStore) -> None:
    first = store.add(alert())
    second = store.add(alert("Lviv", at=NOW + timedelta(minutes=1)))
    assert (first.status, first.subsided_at, first.calls, first.usual) == ("open", None, 14, 1.5)
    assert [a.id for a in store.alerts()] == [second.id, first.id]  # newest first
    assert sorted(store.in_spike()) == [
        ("Kyiv", "5551000", "menu:2"),
        ("Lviv", "5551000", "menu:2"),
    ]
    assert store.subside("Kyiv", "5551000", "menu:2", NOW + timedelta(minutes=20)) == 1
    assert store.in_spike() == [("Lviv", "5551000", "menu:2")]
    found = store.alert(first.id)
    assert found is not None and found.subsided_at == NOW + timedelta(minutes=20)
    assert found.status == "open"  # the supervisor still decides


def test_a_second_alert_for_a_spike_still_on_is_refused(store: OutageAlertStore) -> None:
    store.add(alert())
    with pytest.raises(IntegrityError):
        store.add(alert(at=NOW + timedelta(seconds=30)))  # another engine, the same spike
    store.subside("Kyiv", "5551000", "menu:2", NOW + timedelta(minutes=20))
    again = store.add(alert(at=NOW + timedelta(minutes=30)))  # a new spike
    assert [a.status for a in store.alerts()] == ["open", "open"] and again.subsided_at is None


def test_posting_creates_the_outage_with_the_prefilled_message_once(
    store: OutageAlertStore, sessions: sessionmaker[Session]
) -> None:
    raised = store.add(alert())
    posted = store.post(raised.id, by="supervisor", at=NOW)
    assert (posted.status, posted.handled_by, posted.handled_at) == ("posted", "supervisor", NOW)
    assert posted.outage_id is not None
    outage = StoreDirectory(sessions).find_active_outage("Kyiv", "", NOW + timedelta(seconds=1))
    assert outage is not None and outage.id == posted.outage_id
    assert (outage.area, outage.message) == ("Kyiv", "масові звернення")
    with pytest.raises(AlertHandled, match="already posted"):
        store.post(raised.id, by="supervisor", at=NOW)
    with pytest.raises(AlertHandled, match="already posted"):
        store.dismiss(raised.id, by="supervisor", at=NOW)
    assert [o.id for o in DeskStore(sessions).outages(NOW)] == [posted.outage_id]


def test_a_posted_message_and_service_may_be_edited(
    store: OutageAlertStore, sessions: sessionmaker[Session]
) -> None:
    raised = store.add(alert())
    restore = NOW + timedelta(hours=3)
    posted = store.post(
        raised.id,
        by="s",
        at=NOW,
        message="Обрив кабелю",
        service="internet",
        expected_restore=restore,
    )
    view = DeskStore(sessions).outage(posted.outage_id or 0, NOW)
    assert view is not None
    assert (view.message, view.service, view.expected_restore) == (
        "Обрив кабелю",
        "internet",
        restore,
    )


def test_dismissed_is_closed_and_unknown_is_a_lookup_error(store: OutageAlertStore) -> None:
    raised = store.add(alert())
    dismissed = store.dismiss(raised.id, by="boss", at=NOW)
    assert (dismissed.status, dismissed.outage_id) == ("dismissed", None)
    assert store.alerts("open") == [] and [a.id for a in store.alerts("dismissed")] == [raised.id]
    with pytest.raises(AlertHandled, match="already dismissed"):
        store.post(raised.id, by="boss", at=NOW)
    with pytest.raises(LookupError, match="no such outage alert: 999"):
        store.dismiss(999, by="boss", at=NOW)
    with pytest.raises(ValueError, match="status: expected one of open, posted, dismissed"):
        store.alerts("gone")


def test_the_detector_reads_calls_that_left_the_menu_with_the_subscribers_city(
    store: OutageAlertStore, sessions: sessionmaker[Session]
) -> None:
    lviv = StoreDirectory(sessions).add_subscriber(
        "20000002", "Іван", "вул. Личаківська", "Lviv", "", []
    )
    rows = [
        CallRecord(call_id="a", line="5551000", menu_path="menu:2>x:1", started_at=NOW),
        CallRecord(
            call_id="b", line="5551000", menu_path="menu:2", started_at=NOW, subscriber_id=lviv.id
        ),
        CallRecord(call_id="c", line="5551000", menu_path=None, started_at=NOW),  # in the menu
        CallRecord(
            call_id="d", line="5551000", menu_path="menu:1", started_at=NOW - timedelta(hours=2)
        ),
    ]
    with writing(sessions) as session:
        session.add_all(rows)
    found = store.calls_between(NOW - timedelta(minutes=10), NOW + timedelta(seconds=1))
    assert sorted((c.menu_path, c.city) for c in found) == [
        ("menu:2", "Lviv"),
        ("menu:2>x:1", None),
    ]
    assert all(c.started_at == NOW and c.line == "5551000" for c in found)


def test_the_detectors_window_is_searched_in_the_journals_time_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        with journal_query_plans(engine) as plans:
            OutageAlertStore(make_session_factory(engine)).calls_between(NOW, NOW)
    finally:
        engine.dispose()
    [plan] = plans
    assert "SEARCH call_journal USING INDEX ix_call_journal_call_time" in plan, plan

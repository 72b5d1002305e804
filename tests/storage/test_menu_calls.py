"""The journal keeps the keys each caller pressed; `menu_calls` reads them back for a
replay (SQLite and PostgreSQL)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import CallFinishedInMenu, CallQueued, CallRouted, CallStarted
from ivr.storage.journal import write_events
from ivr.storage.repository import JournalRepository, MenuCall

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def started(call_id: str, at: datetime) -> CallStarted:
    return CallStarted(call_id, "5551000", "+380441234567", "PJSIP/x", at=at)


def test_the_keys_are_journalled_and_read_back_in_the_window(
    sessions: sessionmaker[Session],
) -> None:
    later = T0 + timedelta(minutes=10)
    write_events(
        sessions,
        [
            started("routed", T0),
            CallRouted(
                "routed",
                "5551000",
                "+380441234567",
                "tv",
                "existing_service",
                0,
                ("menu:2", "service_menu:2"),
                at=T0,
                keys=("7", "-", "2", "2"),
            ),
            CallQueued("routed", "tv", 1, at=T0),  # later events keep the keys
            started("served", later),
            CallFinishedInMenu(
                "served", "5551000", "+380441234567", ("menu:3",), at=later, keys=("3", "04321#")
            ),
            started("asked-nothing", later),
            CallFinishedInMenu("asked-nothing", "5551000", "", ("hours:else",), at=later, keys=()),
            started("old", later),  # journalled before keys were kept
            CallRouted("old", "5551000", "1", "tv", "existing_service", 0, ("menu:2",), at=later),
            started("in-menu", later),  # still in the menu: not replayable yet
            started("outside", T0 + timedelta(hours=2)),
            CallFinishedInMenu("outside", "5551000", "", (), at=T0, keys=("1",)),
        ],
    )
    found = JournalRepository(sessions).menu_calls(T0, T0 + timedelta(hours=1))
    assert found.calls == [  # by time, then as first journalled
        MenuCall("routed", "5551000", "+380441234567", T0, ("7", "-", "2", "2")),
        MenuCall("served", "5551000", "+380441234567", later, ("3", "04321#")),
        MenuCall("asked-nothing", "5551000", "+380441234567", later, ()),
    ]
    assert found.without_keys == 1  # "old"

"""Read side: frozen views, never ORM objects."""

import dataclasses
import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import CallEnded, CallRouted, CallStarted
from ivr.storage.journal import write_events
from ivr.storage.repository import CallRecordView, JournalRepository


def test_get_returns_a_frozen_view_or_none(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    assert repository.get("nope") is None
    write_events(sessions, [CallStarted("v1", "5551000", "+380441234567", "PJSIP/x-1")])

    view = repository.get("v1")
    assert isinstance(view, CallRecordView)
    assert (view.call_id, view.line, view.outcome, view.fell_back) == (
        "v1",
        "5551000",
        "started",
        False,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.queue = "x"  # type: ignore[misc]
    # What the web layer does with it: plain data, JSON-serialisable.
    json.dumps(dataclasses.asdict(view), default=str)


def test_recent_is_newest_first_and_limited(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    assert repository.recent() == []
    for n in range(5):
        write_events(sessions, [CallStarted(f"c{n}", "5551000", str(n), "PJSIP/x")])
    write_events(
        sessions,
        [
            CallRouted("c0", "5551000", "0", "tv", "existing", 5, ("main:2",)),
            CallEnded("c0", "Normal Clearing"),
        ],
    )

    assert [v.call_id for v in repository.recent(limit=3)] == ["c4", "c3", "c2"]
    views = repository.recent()
    assert [v.call_id for v in views] == ["c4", "c3", "c2", "c1", "c0"]
    assert (views[-1].queue, views[-1].menu_path, views[-1].outcome) == (
        "tv",
        "main:2",
        "abandoned",
    )

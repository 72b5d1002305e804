"""The flow history on SQLite and PostgreSQL: versions, their diffs, unchanged content."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.flow.snapshot import digest
from ivr.storage.flow_history import FlowHistory, UnknownVersion

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FIRST = {"main.yaml": "name: main\n", "lines.yaml": "lines: []\n"}
SECOND = {"main.yaml": "name: main  # Головне меню\n", "lines.yaml": "lines: []\n"}


def test_versions_are_kept_with_who_what_changed_and_the_diff(
    sessions: sessionmaker[Session],
) -> None:
    history = FlowHistory(sessions)
    first = history.record(FIRST, "startup", T0)
    second = history.record(SECOND, "api admin sha256:0123abcd", T0 + timedelta(minutes=5))
    assert first is not None and second is not None
    assert (first.changed, first.diff) == (("lines.yaml", "main.yaml"), "")  # nothing before
    assert second.changed == ("main.yaml",)
    assert "-name: main\n+name: main  # Головне меню\n" in second.diff
    assert second.digest == digest(SECOND)

    assert [v.id for v in history.recent()] == [second.id, first.id]
    assert history.get(second.id) == second
    assert history.get(second.id).at == T0 + timedelta(minutes=5)
    assert history.files(first.id) == FIRST
    assert history.files(second.id) == SECOND  # Unicode kept


def test_unchanged_content_is_no_new_version_but_going_back_is(
    sessions: sessionmaker[Session],
) -> None:
    history = FlowHistory(sessions)
    history.record(FIRST, "startup", T0)
    assert history.record(dict(FIRST), "startup", T0 + timedelta(hours=1)) is None
    history.record(SECOND, "file change", T0 + timedelta(hours=2))
    back = history.record(FIRST, "rollback of 1 by supervisor", T0 + timedelta(hours=3))
    assert back is not None and back.changed == ("main.yaml",)
    assert [v.who for v in history.recent(limit=2)] == [
        "rollback of 1 by supervisor",
        "file change",
    ]


def test_an_unknown_version_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    history = FlowHistory(sessions)
    with pytest.raises(UnknownVersion, match=r"no flow version 42 \(see `ivr flow history`\)"):
        history.get(42)
    with pytest.raises(UnknownVersion):
        history.files(42)
    with pytest.raises(ValueError, match="time zone"):
        history.record(FIRST, "startup", datetime(2026, 12, 7, 9, 0))

"""The shared live state on SQLite and PostgreSQL: one row per Asterisk, rewritten by its
owner, read by every engine with its age by the database's clock."""

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.live_state import LiveStateStore
from ivr.storage.models import LiveStateRecord

FLOOR = {"format": 1, "waiting": [{"call_id": "c1", "line": "Київ 5551000"}], "agents": []}


def test_the_owner_s_row_is_read_back_with_its_age(sessions: sessionmaker[Session]) -> None:
    store = LiveStateStore(sessions)
    assert store.read() == []
    store.write("ast1", "engine-a", FLOOR)
    [row] = store.read()
    assert (row.asterisk, row.engine, row.payload) == ("ast1", "engine-a", FLOOR)
    assert 0 <= row.age < 1.0
    time.sleep(0.3)  # by the database's clock
    [older] = store.read()
    assert 0.3 <= older.age < 1.3


def test_a_rewrite_replaces_the_row_and_its_age(sessions: sessionmaker[Session]) -> None:
    store = LiveStateStore(sessions)
    store.write("ast1", "engine-a", FLOOR)
    time.sleep(0.3)
    store.write("ast1", "engine-b", {"format": 1, "waiting": []})  # a new owner took over
    [row] = store.read()
    assert row.engine == "engine-b" and row.payload == {"format": 1, "waiting": []}
    assert row.age < 0.3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(LiveStateRecord)) == 1


def test_each_asterisk_has_its_own_row(sessions: sessionmaker[Session]) -> None:
    store = LiveStateStore(sessions)
    store.write("ast2", "engine-b", {"format": 1, "n": 2})
    store.write("ast1", "engine-a", FLOOR)
    assert [(r.asterisk, r.engine) for r in store.read()] == [
        ("ast1", "engine-a"),
        ("ast2", "engine-b"),
    ]
    [only] = store.read(["ast2"])
    assert only.payload == {"format": 1, "n": 2}

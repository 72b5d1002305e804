"""What each Asterisk's owner sees live, shared with every engine through the database.

One row per Asterisk: the engine that owns its live actions rewrites it about once a second
(`write`), `written_at` by the *database's* clock; any engine reads the rows (`read`) with
their age by that same clock, so the engines' own clocks never meet. The payload is JSON
this store does not look into (ivr.monitors.live_json makes and reads it).

Blocking: callers run these on a StorageGate.
"""

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.db import conflict_insert, writing
from ivr.storage.models import LiveStateRecord
from ivr.storage.ownership import db_epoch

SessionFactory = Callable[[], Session]


@dataclass(frozen=True, slots=True)
class LiveRow:
    """One Asterisk's live state as its owner last wrote it."""

    asterisk: str
    engine: str  # the owner that wrote it
    age: float  # s between its writing and its reading (the database's clock)
    payload: Mapping[str, Any]


class LiveStateStore:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def write(self, asterisk: str, engine: str, payload: Mapping[str, Any]) -> None:
        """Replace the Asterisk's row (insert it the first time)."""
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        with writing(self._session_factory) as session:
            dialect = session.get_bind().dialect.name
            values = {
                "asterisk": asterisk,
                "engine": engine,
                "written_at": db_epoch(dialect),
                "payload": text,
            }
            insert = conflict_insert(dialect, LiveStateRecord, "live state").values(values)
            excluded = insert.excluded
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=[LiveStateRecord.asterisk],
                    set_={
                        "engine": excluded.engine,
                        "written_at": excluded.written_at,
                        "payload": excluded.payload,
                    },
                )
            )

    def read(self, asterisks: Collection[str] | None = None) -> list[LiveRow]:
        """Every Asterisk's row (or those named), with its age now."""
        r = LiveStateRecord
        with self._session_factory() as session:
            now = db_epoch(session.get_bind().dialect.name)
            query = select(r.asterisk, r.engine, now - r.written_at, r.payload)
            if asterisks is not None:
                query = query.where(r.asterisk.in_(list(asterisks)))
            rows = session.execute(query.order_by(r.asterisk)).all()
        return [
            LiveRow(asterisk, engine, max(0.0, float(age)), json.loads(payload))
            for asterisk, engine, age, payload in rows
        ]

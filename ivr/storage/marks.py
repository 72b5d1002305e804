"""Delivery marks: the last outbox event (ivr.storage.spool) a writer applied, kept in the
database in the same transaction as the events themselves (table outbox_marks).

A writer's batch is written in a worker thread (ivr.storage.batch); `Marks.writing(spool,
seq)` tells the sessions made in that thread (by `Marks.sessions`) to record `seq` when
they commit. So after a crash, or a commit whose answer was lost, `Marks.read` says exactly
which events the database holds: they are skipped, the rest applied. Nothing twice, even
for the writers that insert (reports, agent log), not only the journal's idempotent upsert.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Table, case, event, select
from sqlalchemy.orm import Session

from ivr.storage.db import conflict_insert
from ivr.storage.models import OutboxMarkRecord

SessionFactory = Callable[[], Session]
TABLE: Table = OutboxMarkRecord.metadata.tables[OutboxMarkRecord.__tablename__]


class Marks:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory
        self._local = threading.local()

    def read(self, spool_id: str) -> int:
        """The last seq the database applied for this spool (0: none). Blocking."""
        with self._session_factory() as session:
            seq = session.scalar(
                select(OutboxMarkRecord.seq).where(OutboxMarkRecord.spool_id == spool_id)
            )
        return int(seq or 0)

    @contextmanager
    def writing(self, spool_id: str, seq: int) -> Iterator[None]:
        """Within this block (in this thread), a session from `sessions()` that commits
        records `seq` as applied for `spool_id`."""
        self._local.mark = (spool_id, seq)
        try:
            yield
        finally:
            self._local.mark = None

    def sessions(self) -> Session:
        """A session factory for the writers: marks its commits (see `writing`)."""
        session = self._session_factory()
        mark = getattr(self._local, "mark", None)
        if mark is not None:
            spool_id, seq = mark
            event.listen(session, "before_commit", lambda s: _record(s, spool_id, seq))
        return session


def _record(session: Session, spool_id: str, seq: int) -> None:
    stmt = conflict_insert(session.get_bind().dialect.name, TABLE, "outbox marks")
    values = {"spool_id": spool_id, "seq": seq, "at": datetime.now(UTC)}
    session.execute(
        stmt.values(values).on_conflict_do_update(
            index_elements=[TABLE.c.spool_id],
            # never back: a mark only grows
            set_={
                "seq": case(
                    (stmt.excluded.seq > TABLE.c.seq, stmt.excluded.seq), else_=TABLE.c.seq
                ),
                "at": stmt.excluded.at,
            },
        )
    )

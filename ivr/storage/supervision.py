"""The supervision log: every time a supervisor joined a live call (listen, whisper or
barge), who asked, when, which call and which phone.

Blocking: call it from a thread (the API's storage gate). Lists are newest first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.db import writing
from ivr.storage.desk import check_limit
from ivr.storage.models import SupervisionRecord

SessionFactory = Callable[[], Session]


@dataclass(frozen=True, slots=True)
class SupervisionView:
    id: int
    at: datetime
    by: str
    call_id: str
    agent: str
    mode: str
    phone: str


def _view(record: SupervisionRecord) -> SupervisionView:
    return SupervisionView(
        record.id, record.at, record.by, record.call_id, record.agent, record.mode, record.phone
    )


class SupervisionLog:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def add(
        self, *, at: datetime, by: str, call_id: str, agent: str, mode: str, phone: str
    ) -> SupervisionView:
        if at.tzinfo is None:
            raise ValueError("at: expected a time with a time zone")
        record = SupervisionRecord(
            at=at, by=by, call_id=call_id, agent=agent, mode=mode, phone=phone
        )
        with writing(self._session_factory) as session:
            session.add(record)
            session.flush()
            view = _view(record)
        return view

    def recent(self, call_id: str = "", limit: int = 100) -> list[SupervisionView]:
        """The latest uses (of one call if `call_id`), newest first."""
        s = SupervisionRecord
        query = select(s).order_by(s.at.desc(), s.id.desc()).limit(check_limit(limit))
        if call_id:
            query = query.where(s.call_id == call_id)
        with self._session_factory() as session:
            return [_view(r) for r in session.scalars(query)]

"""Read side of the call journal: plain frozen views, so callers never hold ORM objects."""

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage.models import CallRecord


@dataclass(frozen=True, slots=True)
class CallRecordView:
    """One row of the call journal (timestamps are aware, in UTC)."""

    id: int
    call_id: str
    line: str | None
    caller: str | None
    channel: str | None
    started_at: datetime | None
    routed_at: datetime | None
    queue: str | None
    caller_class: str | None
    priority: int | None
    menu_path: str | None
    fell_back: bool
    fallback_reason: str | None
    queued_at: datetime | None
    ended_at: datetime | None
    hangup_cause: str | None
    finished_in_menu_at: datetime | None
    outcome: str | None
    agent: str | None
    agent_channel: str | None
    answered_at: datetime | None
    wait_seconds: float | None
    talk_seconds: float | None
    target_met: bool | None  # None: not known yet (neither answered nor past the target)
    escalations: str | None  # e.g. "raise_priority,offer_callback", in the order they ran
    over_guideline: bool
    ended_by: str | None
    abandoned_at: datetime | None
    subscriber_id: int | None  # the subscriber the menu identified
    predicted_wait_seconds: float | None  # the wait predicted at the join; None: none

    @classmethod
    def of(cls, record: CallRecord) -> "CallRecordView":
        return cls(**{f.name: getattr(record, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class MenuCall:
    """A journalled call as the menu saw it: what `ivr flow replay` runs again."""

    call_id: str
    line: str
    caller: str
    at: datetime  # when it entered the menu
    keys: tuple[str, ...]  # one token per input request, as --dtmf


@dataclass(frozen=True, slots=True)
class MenuCalls:
    calls: list[MenuCall]  # oldest first
    without_keys: int  # calls in the window journalled without their keys


MAX_MENU_CALLS = 100_000
_MENU_TIME = func.coalesce(CallRecord.started_at, CallRecord.routed_at)


class JournalRepository:
    """Blocking queries: call them from a thread (asyncio.to_thread) in async code."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory

    def get(self, call_id: str) -> CallRecordView | None:
        with self._session_factory() as session:
            record = session.scalars(
                select(CallRecord).where(CallRecord.call_id == call_id)
            ).one_or_none()
            return CallRecordView.of(record) if record is not None else None

    def recent(self, limit: int = 50) -> list[CallRecordView]:
        """The newest calls first (by first journal write)."""
        with self._session_factory() as session:
            records = session.scalars(
                select(CallRecord).order_by(CallRecord.id.desc()).limit(limit)
            ).all()
            return [CallRecordView.of(record) for record in records]

    def menu_calls(self, since: datetime, until: datetime) -> MenuCalls:
        """The calls that entered the menu in [since, until) and left it (routed or served
        by it), oldest first, at most MAX_MENU_CALLS; those without journalled keys are
        only counted."""
        c = CallRecord
        left = (c.routed_at.is_not(None)) | (c.finished_in_menu_at.is_not(None))
        window = (_MENU_TIME >= since) & (_MENU_TIME < until) & left
        query = (
            select(c.call_id, c.line, c.caller, _MENU_TIME, c.keys)
            .where(window & c.keys.is_not(None))
            .order_by(_MENU_TIME, c.id)
            .limit(MAX_MENU_CALLS)
        )
        with self._session_factory() as session:
            rows = session.execute(query).all()
            missing = session.scalar(select(func.count()).where(window & c.keys.is_(None)))
        calls = [
            MenuCall(call_id, line or "", caller or "", at, tuple((keys or "").split()))
            for call_id, line, caller, at, keys in rows
        ]
        return MenuCalls(calls, missing or 0)

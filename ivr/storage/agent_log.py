"""The agent log: what each agent did and when, for occupancy, not-ready and ringing time.

`AgentLog` listens to the Notifier and writes off the call path (BatchWriter: batches in a
worker thread, retried until written):
- AgentChanged ends the agent's open `agent_activity` row and opens a new one (state,
  reason, from the change on). The events of a batch are applied in order. A change
  older than the open row (events out of order) still ends it, at its own start, so no
  interval is ever negative; the new row then starts where the old one ended, so an
  agent's intervals never overlap.
- AgentRang adds an `agent_rings` row (ring time, answered or not).
`close_open(at)` ends every open row (at engine start: the state a crashed engine last
saw is not current any more). See ivr.storage.kpi for the read side.
"""

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, case, insert, literal, select, update
from sqlalchemy.orm import Session

from ivr.events.model import AgentChanged, AgentRang, Event
from ivr.storage.batch import BatchWriter, Outbox, Tuning, as_utc, clean_text
from ivr.storage.db import writing
from ivr.storage.dead_letters import DeadLetterStore
from ivr.storage.limits import SHORT, check_length
from ivr.storage.models import AgentActivityRecord, AgentRingRecord, UtcDateTime

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
Row = dict[str, Any]
AgentEvent = AgentChanged | AgentRang

_a = AgentActivityRecord
# PostgreSQL: one transaction at a time reads the open rows and ends them (advisory lock).
AGENT_LOG_LOCK = 0x1F5_0002


def _agent(agent: str) -> str | None:
    """An agent id as stored (indexed: one too long for the index is refused, TooLong)."""
    return check_length("agent", clean_text(agent), SHORT)


def ring_row(event: AgentRang) -> Row | None:
    """The agent_rings row of a ring (None without an agent id)."""
    agent = _agent(event.agent)
    if agent is None:
        return None
    return {
        "at": as_utc(event.at),
        "agent": agent,
        "queue": clean_text(event.queue),
        "call_id": clean_text(event.call_id),
        "ring_seconds": max(0.0, float(event.ring)),
        "answered": bool(event.answered),
    }


class _Timeline:
    """The activity rows a batch of changes ends (stored: by id) and adds (new)."""

    def __init__(self, stored_open: Sequence[tuple[int, str, datetime]]) -> None:
        self.ended: list[Row] = []  # {"id", "ended_at"} of stored rows
        self.added: list[Row] = []  # new rows, complete
        self._stored: dict[str, list[tuple[int, datetime]]] = {}
        for row_id, agent, started_at in stored_open:
            self._stored.setdefault(agent, []).append((row_id, started_at))
        self._open: dict[str, Row] = {}  # by agent: the new row open so far

    def change(self, agent: str, state: str, reason: str | None, at: datetime) -> None:
        start = at
        for row_id, started_at in self._stored.pop(agent, []):
            end = max(started_at, at)
            self.ended.append({"id": row_id, "ended_at": end})
            start = max(start, end)
        previous = self._open.pop(agent, None)
        if previous is not None:
            previous["ended_at"] = max(previous["started_at"], at)
            self.added.append(previous)
            start = max(start, previous["ended_at"])
        self._open[agent] = {
            "agent": agent,
            "state": state,
            "reason": reason,
            "started_at": start,
            "ended_at": None,
        }

    def rows(self) -> list[Row]:
        """Every new row: the ones already ended, then the open ones."""
        return [*self.added, *self._open.values()]


def _apply_changes(session: Session, changes: Sequence[AgentChanged]) -> None:
    cleaned = [(_agent(e.agent), e) for e in changes]
    agents = {agent for agent, _ in cleaned if agent is not None}
    if not agents:
        return
    stored = session.execute(
        select(_a.id, _a.agent, _a.started_at)
        .where(_a.ended_at.is_(None), _a.agent.in_(agents))
        .order_by(_a.started_at, _a.id)
    ).all()
    timeline = _Timeline([(row.id, row.agent, row.started_at) for row in stored])
    for agent, event in cleaned:
        if agent is not None:
            state = clean_text(event.state) or ""
            timeline.change(agent, state, clean_text(event.reason), as_utc(event.at))
    if timeline.ended:
        session.execute(update(AgentActivityRecord), timeline.ended)  # by primary key
    session.execute(insert(AgentActivityRecord), timeline.rows())


def write_agent_events(session_factory: SessionFactory, events: Sequence[AgentEvent]) -> None:
    """Apply `events` in order in one transaction (blocking: run in a thread)."""
    changes = [e for e in events if isinstance(e, AgentChanged)]
    ringing = (ring_row(e) for e in events if isinstance(e, AgentRang))
    rings = [row for row in ringing if row is not None]
    if not changes and not rings:
        return
    with writing(session_factory, AGENT_LOG_LOCK) as session:
        if changes:
            _apply_changes(session, changes)
        if rings:
            session.execute(insert(AgentRingRecord), rings)


def close_open_activity(session_factory: SessionFactory, at: datetime) -> int:
    """End every open activity row at `at` (at its start if that is later); how many."""
    at_ = literal(as_utc(at), UtcDateTime())
    statement = (
        update(_a)
        .where(_a.ended_at.is_(None))
        .values(ended_at=case((_a.started_at > at_, _a.started_at), else_=at_))
        .execution_options(synchronize_session=False)
    )
    with writing(session_factory, AGENT_LOG_LOCK) as session:
        result = session.execute(statement)
        assert isinstance(result, CursorResult)
        return result.rowcount


class AgentLog(BatchWriter[AgentEvent]):
    """Subscribe it to the Notifier and run `run()` as a background task. `__call__` only
    queues AgentChanged and AgentRang (others are ignored); see BatchWriter for
    run/flush/stop and dead letters. Call `close_open` (blocking) once at start, before
    `run()`."""

    TUNING = Tuning(batch_size=1000, max_delay=2.0)

    def __init__(
        self,
        session_factory: SessionFactory,
        tuning: Tuning = TUNING,
        dead_letters: DeadLetterStore | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        super().__init__(
            "agent_log",
            functools.partial(
                write_agent_events, outbox.marks.sessions if outbox else session_factory
            ),
            tuning,
            log=log,
            dead_letters=dead_letters or DeadLetterStore(session_factory),
            outbox=outbox,
        )
        self._session_factory = session_factory

    def __call__(self, event: Event) -> None:
        if isinstance(event, AgentEvent):
            self.put(event)

    def close_open(self, at: datetime) -> int:
        """Blocking: end every open activity interval at `at`; returns how many."""
        return close_open_activity(self._session_factory, at)

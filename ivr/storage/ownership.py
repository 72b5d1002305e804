"""Who acts on an Asterisk, and which live steps were taken: the tables that let several
engines share one PostgreSQL without acting twice.

A lease row per Asterisk names the engine that owns its live actions until `expires_at`
(epoch seconds by the *database's* clock, so engines' clocks may differ). The holder renews
it; anyone takes it once it has expired. A claim row per call and step is inserted before a
live step runs: the insert that wins runs the step, any later one (the same engine retrying
after a takeover, a standby that took over) finds it taken.

Blocking: callers run these in a thread (asyncio.to_thread).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Double, delete, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ivr.storage.db import conflict_insert, writing
from ivr.storage.models import LeaseRecord, LiveStepClaim

SessionFactory = Callable[[], Session]
CLAIMS_KEPT = timedelta(days=2)  # a call lasts hours at most: older claims are purged


def db_epoch(dialect: str) -> ColumnElement[float]:
    """The database server's time now, in epoch seconds (sub-second)."""
    if dialect == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())", Double)
    return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Double)


@dataclass(frozen=True, slots=True)
class Lease:
    """The lease as one renewal left it: its holder and the seconds it has left."""

    name: str
    holder: str
    remaining: float

    def held_by(self, engine: str) -> bool:
        return self.holder == engine and self.remaining > 0


class LeaseStore:
    """One lease row per name (an Asterisk): taken, renewed, released."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    def take(self, name: str, engine: str, ttl: float) -> Lease:
        """Renew the lease if `engine` holds it, take it if it is free or expired; return
        who holds it now (another engine: not taken)."""
        with writing(self._session_factory) as session:
            now = db_epoch(session.get_bind().dialect.name)
            r = LeaseRecord
            taken = session.execute(
                update(r)
                .where(r.name == name, (r.holder == engine) | (r.expires_at <= now))
                .values(holder=engine, expires_at=now + ttl)
                .returning(r.holder)
            ).first()
            if taken is None:
                new = {"name": name, "holder": engine, "expires_at": now + ttl}
                session.execute(_insert_new(session, LeaseRecord, new))
            row = session.execute(select(r.holder, r.expires_at - now).where(r.name == name)).one()
        return Lease(name, row[0], float(row[1]))

    def release(self, name: str, engine: str) -> None:
        """Give the lease up at once (a clean stop): a standby takes it on its next try."""
        with writing(self._session_factory) as session:
            r = LeaseRecord
            session.execute(
                update(r).where(r.name == name, r.holder == engine).values(expires_at=0.0)
            )

    def holder(self, name: str) -> Lease | None:
        with self._session_factory() as session:
            now = db_epoch(session.get_bind().dialect.name)
            r = LeaseRecord
            query = select(r.holder, r.expires_at - now).where(r.name == name)
            row = session.execute(query).first()
        return None if row is None else Lease(name, row[0], float(row[1]))


def _insert_new(
    session: Session, model: type[Any], values: Mapping[str, Any]
) -> postgresql.Insert | sqlite.Insert:
    """INSERT a row unless its key exists (then the row there wins)."""
    insert = conflict_insert(session.get_bind().dialect.name, model, model.__tablename__)
    return insert.values(dict(values)).on_conflict_do_nothing()


class ClaimStore:
    """Live steps (a ladder step, a talk mark, on one call of one Asterisk), each claimed
    once before it runs."""

    def __init__(self, session_factory: SessionFactory, asterisk: str, engine: str) -> None:
        self._session_factory = session_factory
        self.asterisk = asterisk
        self.engine = engine

    def claim(self, call_id: str, step: str, now: datetime) -> bool:
        """True: this engine runs the step (it had not been claimed). False: it was."""
        values = {
            "asterisk": self.asterisk,
            "call_id": call_id,
            "step": step,
            "engine": self.engine,
            "claimed_at": now,
        }
        with writing(self._session_factory) as session:
            insert = _insert_new(session, LiveStepClaim, values).returning(LiveStepClaim.step)
            return session.execute(insert).first() is not None

    def release(self, call_id: str, step: str) -> None:
        """The step failed before it acted: whoever tries it next may claim it again."""
        c = LiveStepClaim
        with writing(self._session_factory) as session:
            session.execute(
                delete(c).where(
                    c.asterisk == self.asterisk,
                    c.call_id == call_id,
                    c.step == step,
                    c.engine == self.engine,
                )
            )

    def claimed(self, call_id: str) -> dict[str, str]:
        """The steps claimed on a call, and by which engine."""
        c = LiveStepClaim
        with self._session_factory() as session:
            rows = session.execute(
                select(c.step, c.engine).where(c.asterisk == self.asterisk, c.call_id == call_id)
            ).all()
        return {step: engine for step, engine in rows}

    def purge(self, before: datetime) -> int:
        """Forget claims older than `before` (their calls ended long ago)."""
        c = LiveStepClaim
        with writing(self._session_factory) as session:
            result = session.execute(delete(c).where(c.claimed_at < before))
            return int(result.rowcount)  # type: ignore[attr-defined]

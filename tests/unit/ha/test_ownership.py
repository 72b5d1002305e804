"""Ownership on a fake clock and a lease table in memory: who acts, when it stops."""

import asyncio

import pytest

from ivr.ha.ownership import Ownership
from ivr.storage.ownership import Lease
from ivr.tasks import TaskSet
from tests.fake_clock import FakeClock, settle

TTL, RENEW = 3.0, 1.0


class MemoryLeases:
    """The lease table, with the database's clock = the fake clock; `down` = unreachable."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.rows: dict[str, tuple[str, float]] = {}
        self.down = False

    def take(self, name: str, engine: str, ttl: float) -> Lease:
        if self.down:
            raise ConnectionError("database unreachable")
        now = self.clock.now()
        holder, expires = self.rows.get(name, ("", 0.0))
        if holder in ("", engine) or expires <= now:
            holder, expires = engine, now + ttl
            self.rows[name] = (holder, expires)
        return Lease(name, holder, expires - now)

    def release(self, name: str, engine: str) -> None:
        if self.rows.get(name, ("", 0.0))[0] == engine:
            self.rows[name] = (engine, 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def owner(leases: MemoryLeases, engine: str, clock: FakeClock, tasks: TaskSet) -> Ownership:
    return Ownership(leases, "ast1", engine, clock, tasks, ttl=TTL, renew=RENEW)


async def test_the_first_engine_owns_and_a_second_stands_by(clock: FakeClock) -> None:
    leases, tasks = MemoryLeases(clock), TaskSet("t")
    a, b = owner(leases, "a", clock, tasks), owner(leases, "b", clock, tasks)
    gained: list[str] = []
    a.gained.append(lambda: _note(gained, "a"))
    b.gained.append(lambda: _note(gained, "b"))
    await a.renew_once()
    await b.renew_once()
    await settle()
    assert a.acting and not b.acting and b.holder == "a" and gained == ["a"]
    for _ in range(10):  # renewing keeps it; the standby keeps standing by
        await clock.advance(RENEW)
        await a.renew_once()
        await b.renew_once()
    assert a.acting and not b.acting and gained == ["a"]
    await tasks.cancel_all()


async def test_an_owner_without_the_database_stops_before_a_standby_takes_over(
    clock: FakeClock,
) -> None:
    leases, tasks = MemoryLeases(clock), TaskSet("t")
    a = owner(leases, "a", clock, tasks)
    lost: list[float] = []
    a.lost.append(lambda: lost.append(clock.now()))
    await a.renew_once()
    renewed = clock.now()
    b = owner(leases, "b", clock, tasks)
    gained: list[str] = []
    b.gained.append(lambda: _note(gained, "b"))
    await b.renew_once()  # stands by: a holds it
    leases.down = True  # its network is cut: no renewal answers
    await clock.advance(RENEW)
    await a.renew_once()
    assert a.acting  # the lease it holds is still surely its own
    await clock.advance(TTL - RENEW)
    assert not a.acting and lost == [renewed + TTL]  # stopped by itself, at the lease's end
    leases.down = False
    await b.renew_once()
    await settle()
    assert b.acting and not a.acting  # never both
    assert gained == ["b"]  # the takeover ran b's handlers (resync)
    await a.renew_once()
    assert not a.acting and a.holder == "b"
    await tasks.cancel_all()


async def test_a_release_hands_over_at_once(clock: FakeClock) -> None:
    leases, tasks = MemoryLeases(clock), TaskSet("t")
    a, b = owner(leases, "a", clock, tasks), owner(leases, "b", clock, tasks)
    await a.renew_once()
    await b.renew_once()
    await a.release()
    assert not a.acting
    await b.renew_once()
    assert b.acting
    await tasks.cancel_all()


async def test_an_owner_that_finds_another_holder_stops_at_once(clock: FakeClock) -> None:
    leases, tasks = MemoryLeases(clock), TaskSet("t")
    a = owner(leases, "a", clock, tasks)
    lost: list[str] = []
    a.lost.append(lambda: lost.append("a"))
    await a.renew_once()
    leases.rows["ast1"] = ("b", clock.now() + TTL)  # e.g. an admin moved it
    await a.renew_once()
    assert not a.acting and lost == ["a"]
    await tasks.cancel_all()


def test_renewal_must_be_shorter_than_the_lease(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="below ttl"):
        Ownership(MemoryLeases(clock), "ast1", "a", clock, TaskSet("t"), ttl=1.0, renew=1.0)


async def _note(log: list[str], name: str) -> None:
    log.append(name)
    await asyncio.sleep(0)


async def test_the_only_engine_on_sqlite_keeps_acting_through_slow_renewals(
    clock: FakeClock,
) -> None:
    """SQLite serves one engine (a second is refused at start): a renewal held up by the
    journal's write lock must not stop its live actions."""
    leases, tasks = MemoryLeases(clock), TaskSet("t")
    alone = Ownership(leases, "ast1", "a", clock, tasks, ttl=TTL, renew=RENEW, fenced=False)
    await alone.renew_once()
    leases.down = True
    for _ in range(5):
        await clock.advance(RENEW)
        await alone.renew_once()
    assert alone.acting
    await tasks.cancel_all()

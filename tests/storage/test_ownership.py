"""Leases and step claims on SQLite and PostgreSQL: the database decides who acts."""

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.ownership import ClaimStore, LeaseStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_lease_is_taken_renewed_and_refused_to_another(sessions: sessionmaker[Session]) -> None:
    leases = LeaseStore(sessions)
    first = leases.take("ast1", "engine-a", ttl=30)
    assert first.held_by("engine-a") and 29 < first.remaining <= 30
    other = leases.take("ast1", "engine-b", ttl=30)
    assert other.holder == "engine-a" and not other.held_by("engine-b")
    again = leases.take("ast1", "engine-a", ttl=60)
    assert again.held_by("engine-a") and again.remaining > 59
    assert leases.take("ast2", "engine-b", ttl=30).held_by("engine-b")  # one lease per Asterisk


def test_an_expired_lease_goes_to_the_next_engine(sessions: sessionmaker[Session]) -> None:
    leases = LeaseStore(sessions)
    leases.take("ast1", "engine-a", ttl=0.2)
    assert leases.take("ast1", "engine-b", ttl=30).holder == "engine-a"
    time.sleep(0.3)  # by the database's clock
    taken = leases.take("ast1", "engine-b", ttl=30)
    assert taken.held_by("engine-b")
    assert leases.take("ast1", "engine-a", ttl=30).holder == "engine-b"  # no way back


def test_a_released_lease_is_free_at_once(sessions: sessionmaker[Session]) -> None:
    leases = LeaseStore(sessions)
    leases.take("ast1", "engine-a", ttl=30)
    leases.release("ast1", "engine-b")  # not its lease: nothing changes
    assert leases.take("ast1", "engine-b", ttl=30).holder == "engine-a"
    leases.release("ast1", "engine-a")
    assert leases.take("ast1", "engine-b", ttl=30).held_by("engine-b")
    holder = leases.holder("ast1")
    assert holder is not None and holder.holder == "engine-b"


def test_a_step_is_claimed_once_across_engines(sessions: sessionmaker[Session]) -> None:
    a = ClaimStore(sessions, "ast1", "engine-a")
    b = ClaimStore(sessions, "ast1", "engine-b")
    assert a.claim("c1", "ladder/q/1", NOW)
    assert not b.claim("c1", "ladder/q/1", NOW)
    assert not a.claim("c1", "ladder/q/1", NOW)  # not twice by the same engine either
    assert b.claim("c1", "ladder/q/2", NOW) and b.claim("c2", "ladder/q/1", NOW)
    assert ClaimStore(sessions, "ast2", "engine-b").claim("c1", "ladder/q/1", NOW)
    assert a.claimed("c1") == {"ladder/q/1": "engine-a", "ladder/q/2": "engine-b"}


def test_only_the_claimant_releases_a_failed_step(sessions: sessionmaker[Session]) -> None:
    a = ClaimStore(sessions, "ast1", "engine-a")
    b = ClaimStore(sessions, "ast1", "engine-b")
    assert a.claim("c1", "talk/guideline", NOW)
    b.release("c1", "talk/guideline")
    assert not b.claim("c1", "talk/guideline", NOW)
    a.release("c1", "talk/guideline")
    assert b.claim("c1", "talk/guideline", NOW)


def test_old_claims_are_purged(sessions: sessionmaker[Session]) -> None:
    a = ClaimStore(sessions, "ast1", "engine-a")
    a.claim("old", "ladder/q/0", NOW - timedelta(days=3))
    a.claim("new", "ladder/q/0", NOW)
    assert a.purge(NOW - timedelta(days=2)) == 1
    assert a.claimed("old") == {} and a.claimed("new") == {"ladder/q/0": "engine-a"}

"""One owner of an Asterisk's live actions among several engines: a lease in the database.

The owner renews its lease every `renew` seconds; it acts only while its last successful
renewal, counted from when it was *sent*, is younger than the lease's `ttl` (the database
set the expiry no earlier than that). So an owner that cannot reach the database (network
cut, database down, the process frozen) stops acting by itself within `ttl`, before any
standby can take the lease over: no split brain. A standby tries to take the lease on every
renewal tick and, once it expired, becomes the owner: `on_gain` runs (resync from AMI and
the database), and later `on_loss` if it loses it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from ivr.clock import Clock, Timer
from ivr.storage.ownership import Lease
from ivr.tasks import TaskSet

log = logging.getLogger(__name__)


Run = Callable[..., Awaitable[Any]]


class Leases(Protocol):
    def take(self, name: str, engine: str, ttl: float) -> Lease: ...
    def release(self, name: str, engine: str) -> None: ...


class Ownership:
    def __init__(
        self,
        leases: Leases,
        name: str,
        engine: str,
        clock: Clock,
        tasks: TaskSet,
        ttl: float = 3.0,
        renew: float = 1.0,
        run: Run = asyncio.to_thread,
        fenced: bool = True,
    ) -> None:
        if not 0 < renew < ttl:
            raise ValueError(f"lease renewal ({renew} s) must be above 0 and below ttl ({ttl} s)")
        self._leases = leases
        self._run = run  # runs a blocking store call off the loop (a guarded thread pool)
        # False: the only engine there can be (SQLite): a slow renewal does not stop it
        self._fenced = fenced
        self.name = name
        self.engine = engine
        self._clock = clock
        self._tasks = tasks
        self.ttl = ttl
        self.renew = renew
        self.holder = ""  # who held the lease at the last renewal that answered
        self._until: float | None = None  # acting until then (clock.now())
        self._expiry: Timer | None = None
        self.gained: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.lost: list[Callable[[], None]] = []

    @property
    def acting(self) -> bool:
        """This engine owns the live actions now (the lease is still surely its own)."""
        if self._until is None:
            return False
        return not self._fenced or self._clock.now() < self._until

    async def run(self) -> None:
        while True:
            await self.renew_once()
            await asyncio.sleep(self.renew)

    async def renew_once(self) -> None:
        sent = self._clock.now()
        try:
            lease = await asyncio.wait_for(
                self._run(self._leases.take, self.name, self.engine, self.ttl),
                timeout=self.ttl,
            )
        except Exception as exc:  # the database is down or slow: the lease runs out
            if self._until is not None:
                log.warning("lease %s not renewed: %s", self.name, exc or type(exc).__name__)
            return
        before, self.holder = self.holder, lease.holder
        if lease.held_by(self.engine):
            self._held_until(sent + min(self.ttl, lease.remaining), before)
        elif self._until is not None:
            log.warning("lease %s: %s holds it now", self.name, lease.holder)
            self._lose()

    def _held_until(self, until: float, before: str) -> None:
        """Acting until `until`; `before`: who held the lease at the last renewal."""
        gained = self._until is None
        self._until = until
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = self._clock.call_at(until, self._expired)
        if not gained:
            return
        if before not in ("", self.engine):  # a takeover: the admin's business
            log.warning(
                "took over %s's live actions from %s (lease %g s)", self.name, before, self.ttl
            )
        else:
            log.info("now the owner of %s's live actions (lease %g s)", self.name, self.ttl)
        for handler in self.gained:
            self._tasks.spawn(handler(), name=f"owner-of-{self.name}")

    def _expired(self) -> None:
        if self._until is None or self._clock.now() < self._until:
            return
        if not self._fenced:
            log.warning("lease %s not renewed for %g s: still the only engine", self.name, self.ttl)
            return
        log.warning("lease %s ran out (database not reached): standing by", self.name)
        self._lose()

    def _lose(self) -> None:
        self._until = None
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        for handler in self.lost:
            handler()

    async def release(self) -> None:
        """A clean stop: stop acting, and free the lease so a standby takes over at once."""
        if self._until is None:
            return
        self._lose()
        try:
            await asyncio.wait_for(
                self._run(self._leases.release, self.name, self.engine), self.ttl
            )
        except Exception as exc:
            log.warning("lease %s not released (it runs out in %g s): %s", self.name, self.ttl, exc)

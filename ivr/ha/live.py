"""The live state shared between engines through the database (ivr.storage.live_state).

The owner of an Asterisk's live actions publishes what its monitors see (`LivePublisher`,
about once a second, only while it acts); the other engines keep the rows they read in a
cache refreshed about once a second (`LiveReader`), so any engine's dashboard, API and
/metrics show the whole floor. A row older than `stale_after` seconds (its owner died, or
lost the database) holds no live data any more: readers skip it and say so.

The store is blocking: both run it with `run` (a StorageGate's, off the default executor).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ivr.clock import Clock
from ivr.storage.live_state import LiveRow

log = logging.getLogger(__name__)

Run = Callable[..., Awaitable[Any]]
T = TypeVar("T")
PUBLISH_EVERY = 1.0  # s between the owner's writes (and between the readers' reads)
STALE_AFTER = 5.0  # s: an older row is no live data (its owner is gone or cut off)


class LiveRows(Protocol):
    def write(self, asterisk: str, engine: str, payload: Mapping[str, Any]) -> None: ...
    def read(self, asterisks: Collection[str] | None = None) -> list[LiveRow]: ...


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class LivePublisher:
    """Writes `payload()` as the Asterisk's row every `interval` s while `acting()`."""

    def __init__(
        self,
        rows: LiveRows,
        asterisk: str,
        engine: str,
        payload: Callable[[], Mapping[str, Any]],
        acting: Callable[[], bool],
        run: Run = asyncio.to_thread,
        interval: float = PUBLISH_EVERY,
    ) -> None:
        self._rows = rows
        self.asterisk = asterisk
        self.engine = engine
        self._payload = payload
        self._acting = acting
        self._run = run
        self.interval = interval
        self.published = 0  # rows written since start
        self.last_error: str | None = None  # of the last write, None once one succeeds

    async def run(self) -> None:
        while True:
            await self.publish_once()
            await asyncio.sleep(self.interval)

    async def publish_once(self) -> bool:
        """Write the row now if this engine acts; True when written."""
        if not self._acting():
            return False
        try:
            await self._run(self._rows.write, self.asterisk, self.engine, self._payload())
        except Exception as exc:  # the database is down or slow: the row ages, readers see it
            if self.last_error is None:
                log.warning("live state of %s not published: %s", self.asterisk, _why(exc))
            self.last_error = _why(exc)
            return False
        if self.last_error is not None:
            log.warning("live state of %s published again", self.asterisk)
        self.last_error = None
        self.published += 1
        return True


@dataclass(frozen=True)
class Shared(Generic[T]):
    """One Asterisk's row as this engine read it: `floor` decoded on this engine's clock."""

    asterisk: str
    engine: str  # the owner that wrote it
    age: float  # s since it was written, now
    floor: T

    def fresh(self, stale_after: float) -> bool:
        return self.age <= stale_after


@dataclass(frozen=True)
class _Read(Generic[T]):
    row: LiveRow
    read_at: float  # loop time of the read
    floor: T


class LiveReader(Generic[T]):
    """The rows of every Asterisk, read every `interval` s while `needed()`; `decode(payload,
    written)` turns a payload into a floor on this engine's loop clock, `written` being the
    loop time at which it was written."""

    def __init__(
        self,
        rows: LiveRows,
        decode: Callable[[Mapping[str, Any], float], T],
        clock: Clock,
        run: Run = asyncio.to_thread,
        needed: Callable[[], bool] = lambda: True,
        interval: float = PUBLISH_EVERY,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self._rows = rows
        self._decode = decode
        self._clock = clock
        self._run = run
        self._needed = needed
        self.interval = interval
        self.stale_after = stale_after
        self._read: dict[str, _Read[T]] = {}
        self.last_error: str | None = None  # of the last read, None once one succeeds

    async def run(self) -> None:
        while True:
            if self._needed():
                await self.refresh()
            await asyncio.sleep(self.interval)

    async def refresh(self) -> None:
        """Read the rows now; on failure the cached ones stay and grow old."""
        try:
            rows = await self._run(self._rows.read)
        except Exception as exc:
            if self.last_error is None:
                log.warning("live state not read: %s", _why(exc))
            self.last_error = _why(exc)
            return
        self.last_error = None
        now = self._clock.now()
        read: dict[str, _Read[T]] = {}
        for row in rows:
            try:
                read[row.asterisk] = _Read(row, now, self._decode(row.payload, now - row.age))
            except ValueError as exc:  # another engine version's payload: no live data
                log.warning("live state of %s from %s skipped: %s", row.asterisk, row.engine, exc)
        self._read = read

    def shared(self) -> list[Shared[T]]:
        """Every Asterisk's last row, its age counted to now (fresh or not)."""
        now = self._clock.now()
        return [
            Shared(name, r.row.engine, r.row.age + max(0.0, now - r.read_at), r.floor)
            for name, r in sorted(self._read.items())
        ]

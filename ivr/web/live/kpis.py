"""Today's KPIs for the live board, and when they are read again.

The KPIs cover today: since local midnight in the flows calendar's time zone. `KpiRefresh`
reads them from storage off the event loop: at start, then every `interval` seconds, and
`debounce` seconds after an event that changes them (a burst of events costs one refresh).
A failed refresh is logged and the last KPIs stay. Time is the injected clock's
(ivr.clock), so tests move it by hand.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from ivr.clock import Clock
from ivr.flow.calendar import local_midnight
from ivr.storage.batch import brief
from ivr.storage.kpi import AgentStats
from ivr.storage.service_level import ServiceLevel

log = logging.getLogger(__name__)

RunBlocking = Callable[..., Awaitable[Any]]  # runs a blocking call off the loop


class ServiceLevels(Protocol):
    def by_queue(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[ServiceLevel]: ...
    def by_line(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[ServiceLevel]: ...
    def overall(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> ServiceLevel: ...


class UnreachableCounts(Protocol):
    def unreachable_by_line(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[str, int]]: ...


class AgentKpis(Protocol):
    def agents(self, since: datetime, until: datetime) -> list[AgentStats]: ...
    def callback_counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Kpis:
    """Today's figures from storage, as of the last refresh."""

    since: datetime
    overall: ServiceLevel | None = None
    queues: Mapping[str, ServiceLevel] = field(default_factory=dict)
    lines: Mapping[str, ServiceLevel] = field(default_factory=dict)
    agents: Mapping[str, AgentStats] = field(default_factory=dict)
    callbacks: Mapping[str, int] = field(default_factory=dict)
    unreachable: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class KpiSources:
    """Where today's figures are read (blocking calls)."""

    service_level: ServiceLevels
    reports: UnreachableCounts
    kpi: AgentKpis

    def load(self, since: datetime, until: datetime) -> Kpis:
        sl = self.service_level
        return Kpis(
            since=since,
            overall=sl.overall(since, until),
            queues={level.key: level for level in sl.by_queue(since, until)},
            lines={level.key: level for level in sl.by_line(since, until)},
            agents={stats.agent: stats for stats in self.kpi.agents(since, until)},
            callbacks=self.kpi.callback_counts(),
            unreachable=tuple(self.reports.unreachable_by_line(since, until)),
        )


def today(now: datetime, tz: tzinfo) -> datetime:
    """Local midnight of `now`'s day in `tz`."""
    return local_midnight(now.astimezone(tz).date(), tz)


class KpiRefresh:
    """Run `run()` as a background task; call `stale()` on an event that changes the KPIs."""

    def __init__(
        self,
        sources: KpiSources,
        timezone: Callable[[], tzinfo],
        clock: Clock,
        changed: Callable[[], None],  # the KPIs changed
        *,
        interval: float,
        debounce: float,
        run_blocking: RunBlocking | None = None,  # default: a worker thread
    ) -> None:
        self._sources = sources
        self._timezone = timezone
        self._clock = clock
        self._changed = changed
        self._interval = interval
        self._debounce = debounce
        self._run_blocking = run_blocking or asyncio.to_thread
        self.kpis = Kpis(since=self.today())
        self._stale = False
        self._pause_ends: asyncio.Event | None = None  # the interval pause a KPI event ends

    def today(self) -> datetime:
        return today(self._clock.wall(), self._timezone())

    def stale(self) -> None:
        """The KPIs changed in storage: refresh `debounce` seconds from now (or sooner)."""
        self._stale = True
        if self._pause_ends is not None:
            self._pause_ends.set()

    async def run(self) -> None:
        """Refresh now, then every `interval` and `debounce` after a KPI event."""
        while True:
            await self.refresh()
            if not self._stale:
                await self._pause(self._interval, ended_by_stale=True)
            if self._stale:
                await self._pause(self._debounce)  # let the burst (and the journal) settle

    async def _pause(self, seconds: float, *, ended_by_stale: bool = False) -> None:
        ends = asyncio.Event()
        timer = self._clock.call_at(self._clock.now() + seconds, ends.set)
        self._pause_ends = ends if ended_by_stale else None
        try:
            await ends.wait()
        finally:
            timer.cancel()
            self._pause_ends = None

    async def refresh(self) -> None:
        """Read today's KPIs off the loop; on an error keep the last ones."""
        self._stale = False
        since, until = self.today(), self._clock.wall()
        try:
            kpis = await self._run_blocking(self._sources.load, since, until)
        except Exception as exc:
            log.warning("live board: KPIs not refreshed, keeping the last ones: %s", brief(exc))
            return
        if kpis != self.kpis:
            self.kpis = kpis
            self._changed()

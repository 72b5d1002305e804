"""The live board: what the wallboard shows, now and for today.

`LiveBoard.snapshot()` joins two kinds of figures:
- live ones, read from the monitors at snapshot time: who waits and for how long, each
  agent's state and time in it, calls in progress;
- today's KPIs (since local midnight in the flows calendar's time zone), read from storage
  in a worker thread by `run()`: every `interval` seconds, and `debounce` seconds after an
  event that changes them (a burst of events costs one refresh). A failed refresh is logged
  and the last KPIs stay on the board.

`updates()` is what a Server-Sent Events client follows: a snapshot at once, then one at
least every `push_every` seconds and soon after any change of agents, queues or KPIs.
The snapshot is public (like /metrics): no caller numbers, names or other personal data.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from ivr.events.model import (
    AgentChanged,
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallbackAttempted,
    CallbackRequested,
    CallCompleted,
    CallEnded,
    CallEscalated,
    CallQueued,
    Event,
    UnreachableReported,
)
from ivr.flow.calendar import local_midnight
from ivr.flow.model import FlowLibrary
from ivr.monitors.talk import Talk
from ivr.monitors.waiting import Waiter
from ivr.queues.agents import AgentState
from ivr.queues.model import QueuesConfig
from ivr.routing.escalation import TARGET
from ivr.storage.batch import brief
from ivr.storage.kpi import AgentStats
from ivr.storage.reports import line_key
from ivr.storage.service_level import ServiceLevel

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]
KPI_EVENTS = (
    CallAnswered,
    CallAbandoned,
    CallCompleted,
    UnreachableReported,
    CallbackRequested,
    CallbackAttempted,
)
LIVE_EVENTS = (
    AgentChanged,
    CallQueued,
    CallAnswered,
    CallAbandoned,
    CallCompleted,
    CallEnded,
    CallEscalated,
    AnswerTargetMissed,
)
CALLBACK_STATUSES = ("open", "dialling", "done", "failed")


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


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def level_view(level: ServiceLevel | None) -> dict[str, Any]:
    """The service-level figures of a queue, a line or the whole centre."""
    if level is None:
        return {
            "offered": 0,
            "answered": 0,
            "within_target": 0,
            "abandoned": 0,
            "service_level": None,
            "asa": None,
            "average_talk": None,
            "abandon_rate": None,
            "over_guideline": 0,
        }
    return {
        "offered": level.offered,
        "answered": level.answered,
        "within_target": level.within_target,
        "abandoned": level.abandoned,
        "service_level": _rate(level.share),
        "asa": _seconds(level.average_wait),
        "average_talk": _seconds(level.average_talk),
        "abandon_rate": _rate(level.abandon_rate),
        "over_guideline": level.over_guideline,
    }


def escalations(waiter: Waiter) -> list[str]:
    """The escalation steps run for a waiting caller, in the order they fell due."""
    return [
        mark.step.action
        for mark in waiter.marks
        if mark.index != TARGET and mark.index in waiter.done and mark.step is not None
    ]


class LiveBoard:
    """Run `run()` as a background task and subscribe `on_event` to the Notifier."""

    def __init__(
        self,
        *,
        waiters: Callable[[], Iterable[Waiter]],
        talking: Callable[[], Iterable[Talk]],
        agents: Callable[[], Iterable[AgentState]],
        queues: Callable[[], QueuesConfig],
        flows: Callable[[], FlowLibrary],
        service_level: ServiceLevels,
        reports: UnreachableCounts,
        kpi: AgentKpis,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] | None = None,
        interval: float = 2.0,
        debounce: float = 0.3,
        push_every: float = 1.0,
    ) -> None:
        self._waiters = waiters
        self._talking = talking
        self._agents = agents
        self._queues = queues
        self._flows = flows
        self._service_level = service_level
        self._reports = reports
        self._kpi = kpi
        self._now = now
        self._monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self._interval = interval
        self._debounce = debounce
        self._push_every = push_every
        self._kpis = Kpis(since=self.today())
        self._stale = asyncio.Event()
        self._subscribers: set[asyncio.Event] = set()

    # --- inputs -----------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Notifier listener: KPI events schedule a refresh, live ones wake the streams."""
        if isinstance(event, KPI_EVENTS):
            self._stale.set()
        if isinstance(event, LIVE_EVENTS):
            self.changed()

    def changed(self) -> None:
        """Something live changed: every stream sends a snapshot soon."""
        for wake in self._subscribers:
            wake.set()

    # --- today's KPIs -----------------------------------------------------------------

    def timezone(self) -> tzinfo:
        return self._flows().calendar.timezone

    def today(self) -> datetime:
        tz = self.timezone()
        return local_midnight(self._now().astimezone(tz).date(), tz)

    @property
    def kpis(self) -> Kpis:
        return self._kpis

    async def run(self) -> None:
        """Refresh now, then every `interval` and `debounce` after a KPI event."""
        while True:
            await self.refresh()
            try:
                async with asyncio.timeout(self._interval):
                    await self._stale.wait()
                await asyncio.sleep(self._debounce)  # let the burst (and the journal) settle
            except TimeoutError:
                pass

    async def refresh(self) -> None:
        """Read today's KPIs in a worker thread; on an error keep the last ones."""
        self._stale.clear()
        since, until = self.today(), self._now()
        try:
            kpis = await asyncio.to_thread(self._load, since, until)
        except Exception as exc:
            log.warning("live board: KPIs not refreshed, keeping the last ones: %s", brief(exc))
            return
        if kpis != self._kpis:
            self._kpis = kpis
            self.changed()

    def _load(self, since: datetime, until: datetime) -> Kpis:
        """Blocking: today's figures from storage."""
        sl = self._service_level
        return Kpis(
            since=since,
            overall=sl.overall(since, until),
            queues={level.key: level for level in sl.by_queue(since, until)},
            lines={level.key: level for level in sl.by_line(since, until)},
            agents={stats.agent: stats for stats in self._kpi.agents(since, until)},
            callbacks=self._kpi.callback_counts(),
            unreachable=tuple(self._reports.unreachable_by_line(since, until)),
        )

    # --- streams ----------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def updates(self) -> AsyncGenerator[Snapshot, None]:
        """Snapshots for one client: one now, then at least every `push_every` seconds and
        soon after each change. Close it (contextlib.aclosing) when the client goes."""
        wake = asyncio.Event()
        self._subscribers.add(wake)
        try:
            while True:
                wake.clear()  # before the snapshot: a change while it is sent is not lost
                yield self.snapshot()
                try:
                    async with asyncio.timeout(self._push_every):
                        await wake.wait()
                except TimeoutError:
                    pass
                # Let this change's other listeners and AMI handlers run first (a
                # CallQueued comes before the waiting monitor has seen the join).
                await asyncio.sleep(0)
        finally:
            self._subscribers.discard(wake)

    # --- views ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The board now (JSON-ready; the contract's dashboard snapshot)."""
        now, mono, kpis, tz = self._now(), self._monotonic(), self._kpis, self.timezone()
        config = self._queues()
        waiting = sorted((w for w in self._waiters() if w.in_queue), key=lambda w: w.joined)
        talking = list(self._talking())
        agents = list(self._agents())
        callbacks = {status: kpis.callbacks.get(status, 0) for status in CALLBACK_STATUSES}
        unreachable = [{"line": line, "reports": n} for line, n in kpis.unreachable]
        totals = {
            "waiting": len(waiting),
            **level_view(kpis.overall),
            "open_callbacks": callbacks["open"] + callbacks["dialling"],
            "unreachable_reports": sum(n for _, n in kpis.unreachable),
        }
        return {
            "at": now.isoformat(),
            "since": kpis.since.isoformat(),
            "timezone": getattr(tz, "key", None) or str(tz),  # the IANA name
            "totals": totals,
            "waiting": [
                {
                    "call_id": w.call_id,
                    "queue": w.queue,
                    "line": w.line,
                    "caller_class": w.caller_class,
                    "priority": w.priority,
                    "since": w.joined_at.isoformat(),
                    "wait": round(mono - w.joined, 3),
                    "escalations": escalations(w),
                }
                for w in waiting
            ],
            "talking": [
                {
                    "call_id": t.call_id,
                    "queue": t.queue,
                    "agent": t.agent,
                    "talk": round(mono - t.started, 3),
                }
                for t in sorted(talking, key=lambda t: t.started)
            ],
            "agents": [self._agent_view(a, now, kpis.agents.get(a.id)) for a in agents],
            "queues": [
                {
                    "key": name,
                    "title": spec.title,
                    "answer_target": spec.answer_target,
                    "waiting": sum(1 for w in waiting if w.queue == name),
                    "longest_wait": max(
                        (round(mono - w.joined, 3) for w in waiting if w.queue == name),
                        default=0.0,
                    ),
                    "ready_agents": sum(
                        1 for a in agents if name in a.queues and a.state == "ready"
                    ),
                    "talking": sum(1 for t in talking if t.queue == name),
                    **level_view(kpis.queues.get(name)),
                }
                for name, spec in config.queues.items()
            ],
            "lines": self._lines(kpis),
            "callbacks": callbacks,
            "unreachable": unreachable,
        }

    @staticmethod
    def _agent_view(agent: AgentState, now: datetime, stats: AgentStats | None) -> Snapshot:
        return {
            "id": agent.id,
            "name": agent.name,
            "state": agent.state,
            "reason": agent.reason,
            "since": agent.since.isoformat(),
            "in_state": round(max(0.0, (now - agent.since).total_seconds()), 3),
            "queues": sorted(agent.queues),
            "answered": stats.answered if stats else 0,
            "average_talk": _seconds(stats.average_talk) if stats else None,
            "occupancy": _rate(stats.occupancy) if stats else None,
            "not_ready_seconds": _seconds(stats.not_ready_seconds) if stats else 0.0,
            "ringing_seconds": _seconds(stats.ringing_seconds) if stats else 0.0,
            "talk_seconds": _seconds(stats.talk_seconds) if stats else 0.0,
        }

    def _lines(self, kpis: Kpis) -> list[Snapshot]:
        """The configured lines, then any other line that had calls today."""
        reports = dict(kpis.unreachable)
        out = []
        for number, line in self._flows().lines.items():
            out.append(
                {
                    "key": number,
                    "city": line.city,
                    "sphere": str(line.sphere),
                    **level_view(kpis.lines.get(number)),
                    "unreachable_reports": reports.get(line_key(number) or "", 0),
                }
            )
        configured = {entry["key"] for entry in out}
        for number in sorted(set(kpis.lines) - configured):
            out.append(
                {
                    "key": number,
                    "city": "",
                    "sphere": "",
                    **level_view(kpis.lines[number]),
                    "unreachable_reports": reports.get(line_key(number) or "", 0),
                }
            )
        return out

    def queues_view(self) -> Mapping[str, Any]:
        """GET /api/queues: each queue now, who waits (longest first) and its agents."""
        mono = self._monotonic()
        agents = list(self._agents())
        waiting = sorted((w for w in self._waiters() if w.in_queue), key=lambda w: w.joined)
        talking = list(self._talking())
        out = {}
        for name, spec in self._queues().queues.items():
            out[name] = {
                "title": spec.title,
                "answer_target": spec.answer_target,
                "waiting": [
                    {
                        "call_id": w.call_id,
                        "line": w.line,
                        "caller_class": w.caller_class,
                        "priority": w.priority,
                        "wait": round(mono - w.joined, 3),
                        "escalations": w.escalations,
                    }
                    for w in waiting
                    if w.queue == name
                ],
                "agents": {a.id: a.state for a in agents if name in a.queues},
                "talking": sum(1 for t in talking if t.queue == name),
            }
        return {"queues": out}

    # --- one agent (the agent view) ---------------------------------------------------

    def knows_agent(self, agent_id: str) -> bool:
        """Listed in queues.yaml."""
        return agent_id in self._queues().agents

    def agent_view(self, agent_id: str) -> dict[str, object] | None:
        return next((a.view() for a in self._agents() if a.id == agent_id), None)

"""The live board: what the wallboard shows, now and for today.

`LiveBoard` joins three parts: today's KPIs and when they are read again (ivr.web.live.kpis),
the streams that follow the board (ivr.web.live.fanout), and the JSON views
(ivr.web.live.views), pure functions of the KPIs and of immutable snapshots of what the
monitors hold now: who waits and for how long, each agent's state and time in it, calls in
progress. The snapshot is public (like /metrics): no caller numbers, names or other
personal data.
"""

from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from ivr.clock import Clock, LoopClock
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
from ivr.flow.model import FlowLibrary
from ivr.monitors.agents import AgentSnapshot
from ivr.monitors.talk import TalkingCall
from ivr.monitors.waiting import WaitingCaller
from ivr.queues.model import QueuesConfig
from ivr.web.live import views
from ivr.web.live.fanout import Fanout
from ivr.web.live.kpis import (
    AgentKpis,
    KpiRefresh,
    Kpis,
    KpiSources,
    RunBlocking,
    ServiceLevels,
    UnreachableCounts,
)

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


class LiveBoard:
    """Run `run()` as a background task and subscribe `on_event` to the Notifier."""

    def __init__(
        self,
        *,
        waiting: Callable[[], Iterable[WaitingCaller]],  # every waiter (ivr.monitors.waiting)
        talking: Callable[[], Iterable[TalkingCall]],
        agents: Callable[[], Iterable[AgentSnapshot]],
        queues: Callable[[], QueuesConfig],
        flows: Callable[[], FlowLibrary],
        service_level: ServiceLevels,
        reports: UnreachableCounts,
        kpi: AgentKpis,
        live_status: Callable[[], list[dict[str, Any]]] = list,  # where the floor comes from
        clock: Clock | None = None,
        interval: float = 2.0,
        debounce: float = 0.3,
        push_every: float = 1.0,
        run_blocking: RunBlocking | None = None,
    ) -> None:
        self._waiting = waiting
        self._talking = talking
        self._agents = agents
        self._live_status = live_status
        self._queues = queues
        self._flows = flows
        self._clock = clock or LoopClock()
        self._fanout = Fanout(self.snapshot, self._clock, push_every)
        self._refresh = KpiRefresh(
            KpiSources(service_level, reports, kpi),
            self.timezone,
            self._clock,
            self._fanout.changed,
            interval=interval,
            debounce=debounce,
            run_blocking=run_blocking,
        )

    # --- inputs -----------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Notifier listener: KPI events schedule a refresh, live ones wake the streams."""
        if isinstance(event, KPI_EVENTS):
            self._refresh.stale()
        if isinstance(event, LIVE_EVENTS):
            self._fanout.changed()

    # --- today's KPIs -----------------------------------------------------------------

    def timezone(self) -> tzinfo:
        return self._flows().calendar.timezone

    def today(self) -> datetime:
        return self._refresh.today()

    @property
    def kpis(self) -> Kpis:
        return self._refresh.kpis

    async def run(self) -> None:
        await self._refresh.run()

    async def refresh(self) -> None:
        await self._refresh.refresh()

    # --- streams ----------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return self._fanout.subscribers

    def updates(self) -> AsyncGenerator[views.Snapshot, None]:
        return self._fanout.updates()

    # --- views ------------------------------------------------------------------------

    def floor(self) -> views.Floor:
        """What is live now, copied from the monitors and the agent board."""
        return views.Floor.of(
            self._clock.wall(),
            self._clock.now(),
            self._waiting(),
            self._talking(),
            self._agents(),
        )

    def snapshot(self) -> views.Snapshot:
        """The board now (JSON-ready; the contract's dashboard snapshot)."""
        floor, kpis = self.floor(), self.kpis
        board = views.dashboard(floor, kpis, self._queues(), self._flows(), self.timezone())
        board["live"] = self._live_status()  # per Asterisk: local or shared, owner, age
        return board

    def queues_view(self) -> Mapping[str, Any]:
        """GET /api/queues: each queue now, who waits (longest first) and its agents."""
        return views.queues_view(self.floor(), self._queues())

    # --- one agent (the agent view) ---------------------------------------------------

    def knows_agent(self, agent_id: str) -> bool:
        """Listed in queues.yaml."""
        return agent_id in self._queues().agents

    def agent_views(self) -> list[dict[str, object]]:
        """Every agent (GET /api/agents), from wherever the floor comes from."""
        return [agent.view() for agent in self._agents()]

    def agent_view(self, agent_id: str) -> dict[str, object] | None:
        return next((a.view() for a in self._agents() if a.id == agent_id), None)

"""Agents: log in and out of their queues, ready or paused with a reason, over AMI.

app_queue owns membership; the board sends QueueAdd/QueueRemove/QueuePause and keeps the
state Asterisk reports back (QueueMember* events, QueueStatus at connect), so what it shows
is what app_queue does. A call reaches only members who are logged in and not paused.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ivr.clock import Clock, LoopClock
from ivr.events.model import AgentChanged, AgentRang, Event
from ivr.queues.model import AgentSpec, QueuesConfig
from ivr.routing.predict import Staffing
from ivr.telephony.ami import AmiActionError
from ivr.telephony.ami_events import (
    AgentConnect,
    AgentEvent,
    AgentRingNoAnswer,
    AmiEvent,
    MemberEvent,
    QueueMember,
    QueueMemberAdded,
    QueueMemberPause,
    QueueMemberRemoved,
    QueueMemberStatus,
    parse,
)

log = logging.getLogger(__name__)

Message = Mapping[str, Any]

# app_queue member Status (AST_DEVICE_*): the phone's own state for a PJSIP/<id> interface
# (or a state_interface). With ringinuse = no app_queue rings only "idle" (NOT_INUSE) and
# unknown devices: an unregistered phone (UNAVAILABLE) is skipped, never rung nor paused.
_DEVICE_STATES = {
    "1": "idle",
    "2": "in_call",
    "3": "in_call",
    "4": "unavailable",  # invalid device: app_queue never rings it
    "5": "unavailable",  # e.g. a phone not registered, or not answering OPTIONS
    "6": "ringing",
    "7": "in_call",  # RINGINUSE: talking, and another call rings the phone too
    "8": "in_call",  # on hold
}


class AgentError(ValueError):
    """An agent command that cannot be carried out (unknown agent, not logged in...)."""


class MemberActions(Protocol):
    async def add_member(
        self,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int,
        paused: bool,
        state_interface: str = "",
    ) -> None: ...
    async def remove_member(self, queue: str, interface: str) -> None: ...
    async def pause_member(self, interface: str, paused: bool, reason: str = "") -> None: ...
    async def status(self) -> list[Message]: ...


@dataclass(frozen=True)
class AgentSnapshot:
    """An agent as the live board and the API see it (a frozen copy of AgentState)."""

    id: str
    name: str
    interface: str
    state: str
    paused: bool
    reason: str
    queues: frozenset[str]
    since: datetime

    def view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "interface": self.interface,
            "state": self.state,
            "paused": self.paused,
            "reason": self.reason,
            "queues": sorted(self.queues),
            "since": self.since.isoformat(),
        }


@dataclass
class AgentState:
    id: str
    name: str
    interface: str
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    reason: str = ""
    device: str = "idle"
    since: datetime = field(default_factory=lambda: datetime.now(UTC))  # in this state since

    @property
    def state(self) -> str:
        if not self.queues:
            return "logged_out"
        if self.device in ("in_call", "ringing", "unavailable"):
            return self.device
        return "paused" if self.paused else "ready"

    def snapshot(self) -> AgentSnapshot:
        return AgentSnapshot(
            self.id,
            self.name,
            self.interface,
            self.state,
            self.paused,
            self.reason,
            frozenset(self.queues),
            self.since,
        )

    def view(self) -> dict[str, object]:
        return self.snapshot().view()


class AgentBoard:
    AMI_EVENTS: tuple[type[AmiEvent], ...] = (
        QueueMemberAdded,
        QueueMemberRemoved,
        QueueMemberPause,
        QueueMemberStatus,
        AgentConnect,
        AgentRingNoAnswer,
    )

    def __init__(
        self,
        queues: Callable[[], QueuesConfig],
        actions: MemberActions,
        publish: Callable[[Event], None],
        clock: Clock | None = None,
    ) -> None:
        self._queues = queues
        self._actions = actions
        self._publish = publish
        self._clock = clock or LoopClock()
        self._agents: dict[str, AgentState] = {}  # by interface
        self._syncing = False  # sync() publishes the net changes itself

    # --- reading ----------------------------------------------------------------------

    def agents(self) -> list[AgentState]:
        known = {spec.interface: spec for spec in self._queues().agents.values()}
        for interface, spec in known.items():
            self._state(interface, spec.id)
        return sorted(self._agents.values(), key=lambda a: a.id)

    def snapshots(self) -> list[AgentSnapshot]:
        """A frozen copy of every agent (for the live board and the API)."""
        return [agent.snapshot() for agent in self.agents()]

    def get(self, agent_id: str) -> AgentState:
        spec = self._spec(agent_id)
        return self._state(spec.interface, spec.id)

    def has_ready_agent(self, queue: str) -> bool:
        return any(queue in a.queues and a.state == "ready" for a in self._agents.values())

    def staffing(self, queue: str) -> Staffing:
        """The queue's agents ready now, and busy (in a call or ringing): the wait
        prediction's view of who will answer."""
        states = [a.state for a in self._agents.values() if queue in a.queues]
        busy = sum(1 for s in states if s in ("in_call", "ringing"))
        return Staffing(ready=states.count("ready"), busy=busy)

    def has_agent_on_duty(self, queue: str) -> bool:
        """An agent of `queue` is ready or busy on a call (logged in, not paused, reachable):
        the queue is being served, so whoever is at its head will be answered."""
        on_duty = ("ready", "in_call", "ringing")
        return any(queue in a.queues and a.state in on_duty for a in self._agents.values())

    # --- commands (API and CLI) -------------------------------------------------------

    async def login(self, agent_id: str, paused: bool = False, reason: str = "") -> AgentState:
        """Join every queue the agent has a skill for, at that skill's penalty."""
        spec = self._spec(agent_id)
        if not spec.skills:
            raise AgentError(f"agent {agent_id} has no skills: no queue to log in to")
        for queue, penalty in spec.skills.items():
            try:
                await self._actions.add_member(
                    queue, spec.interface, spec.id, penalty, paused, spec.state_interface
                )
            except AmiActionError as exc:
                if "already" not in str(exc).lower():
                    raise
            self._apply(QueueMemberAdded(queue, spec.interface, "", paused=paused))
        if paused and reason:
            await self._set_paused(agent_id, True, reason)
        return self.get(agent_id)

    async def logout(self, agent_id: str) -> AgentState:
        spec = self._spec(agent_id)
        state = self.get(agent_id)
        for queue in sorted(state.queues | set(spec.skills)):
            try:
                await self._actions.remove_member(queue, spec.interface)
            except AmiActionError as exc:  # not a member of that queue
                log.debug("logout %s from %s: %s", agent_id, queue, exc)
            self._apply(QueueMemberRemoved(queue, spec.interface, ""))
        return self.get(agent_id)

    async def pause(self, agent_id: str, reason: str) -> AgentState:
        if not reason.strip():
            raise AgentError("a pause needs a reason (lunch, training, after-call work...)")
        return await self._set_paused(agent_id, True, reason.strip())

    async def ready(self, agent_id: str) -> AgentState:
        return await self._set_paused(agent_id, False, "")

    async def _set_paused(self, agent_id: str, paused: bool, reason: str) -> AgentState:
        spec = self._spec(agent_id)
        if not self.get(agent_id).queues:
            raise AgentError(f"agent {agent_id} is not logged in")
        await self._actions.pause_member(spec.interface, paused, reason)
        self._apply(QueueMemberPause("", spec.interface, "", paused=paused, reason=reason))
        return self.get(agent_id)

    async def sync(self) -> None:
        """Learn the current members from QueueStatus (after connecting or reconnecting).
        Nothing changes when QueueStatus fails; only agents whose state really changed get
        a new `since` and an AgentChanged."""
        messages = await self._actions.status()
        before = {interface: (a.state, a.reason) for interface, a in self._agents.items()}
        self._syncing = True
        try:
            for agent in self._agents.values():
                agent.queues.clear()
            for message in messages:
                member = parse(message)
                if isinstance(member, QueueMember):
                    self._apply(member)
        finally:
            self._syncing = False
        for interface, agent in self._agents.items():
            if before.get(interface, ("logged_out", "")) != (agent.state, agent.reason):
                self._changed(agent, "")

    # --- AMI events -------------------------------------------------------------------

    def on_ami(self, event: AmiEvent) -> None:
        if isinstance(event, AgentEvent):
            self._rang(event, answered=isinstance(event, AgentConnect))
        elif isinstance(event, MemberEvent) and event.interface:
            self._apply(event)

    def _rang(self, event: AgentEvent, answered: bool) -> None:
        interface = event.interface
        agent = self._state(interface, event.member_name) if interface else None
        self._publish(
            AgentRang(
                agent=agent.id if agent else event.member_name,
                queue=event.queue,
                call_id=event.call_id,
                ring=event.ring,
                answered=answered,
                at=self._clock.wall(),
            )
        )

    def _apply(self, event: MemberEvent) -> None:
        agent = self._state(event.interface, event.member_name)
        before = (agent.state, agent.reason)
        queue = event.queue
        if isinstance(event, QueueMemberRemoved):
            agent.queues.discard(queue)
        elif queue:
            agent.queues.add(queue)
        if event.paused is not None:
            agent.paused = event.paused
            agent.reason = event.reason if event.paused else ""
        if event.status is not None:
            agent.device = _DEVICE_STATES.get(event.status, "idle")
            if event.in_call:
                agent.device = "in_call"
        if (agent.state, agent.reason) != before and not self._syncing:
            self._changed(agent, queue)

    def _changed(self, agent: AgentState, queue: str) -> None:
        agent.since = self._clock.wall()
        self._publish(AgentChanged(agent.id, queue, agent.state, agent.reason, agent.since))

    def _state(self, interface: str, member_name: str) -> AgentState:
        agent = self._agents.get(interface)
        if agent is None:
            spec = self._by_interface(interface)
            agent = AgentState(
                id=spec.id if spec else member_name or interface,
                name=spec.name if spec else member_name,
                interface=interface,
                since=self._clock.wall(),
            )
            self._agents[interface] = agent
        return agent

    def _by_interface(self, interface: str) -> AgentSpec | None:
        return next((a for a in self._queues().agents.values() if a.interface == interface), None)

    def _spec(self, agent_id: str) -> AgentSpec:
        spec = self._queues().agents.get(agent_id)
        if spec is None:
            raise AgentError(f"unknown agent {agent_id!r}: agents are listed in queues.yaml")
        return spec

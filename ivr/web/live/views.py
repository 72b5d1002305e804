"""The live board's JSON views: pure functions of what the monitors and the agent board
hold now (as immutable snapshots) and of today's KPIs. No personal data: no caller numbers,
names or languages (the views are public, like /metrics)."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from ivr.flow.model import FlowLibrary
from ivr.monitors.agents import AgentSnapshot
from ivr.monitors.talk import TalkingCall
from ivr.monitors.waiting import WaitingCaller
from ivr.queues.model import QueuesConfig
from ivr.routing.escalation import TARGET
from ivr.storage.kpi import AgentStats
from ivr.storage.reports import line_key
from ivr.storage.service_level import ServiceLevel
from ivr.web.live.kpis import Kpis

Snapshot = dict[str, Any]
CALLBACK_STATUSES = ("open", "dialling", "done", "failed")


@dataclass(frozen=True)
class Floor:
    """What is live at one instant: who waits (in the queues, longest first), who talks,
    the agents, read at `now` (wall) and `mono` (loop time, the monitors' clock)."""

    now: datetime
    mono: float
    waiting: Sequence[WaitingCaller]
    talking: Sequence[TalkingCall]
    agents: Sequence[AgentSnapshot]

    @classmethod
    def of(
        cls,
        now: datetime,
        mono: float,
        callers: Iterable[WaitingCaller],
        talking: Iterable[TalkingCall],
        agents: Iterable[AgentSnapshot],
    ) -> "Floor":
        waiting = sorted((w for w in callers if w.in_queue), key=lambda w: w.joined)
        return cls(now, mono, tuple(waiting), tuple(talking), tuple(agents))

    def wait(self, caller: WaitingCaller) -> float:
        return round(self.mono - caller.joined, 3)


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


def escalations(caller: WaitingCaller) -> list[str]:
    """The escalation steps run for a waiting caller, in the order they fell due."""
    return [
        mark.step.action
        for mark in caller.marks
        if mark.index != TARGET and mark.index in caller.done and mark.step is not None
    ]


def steps_run(caller: WaitingCaller) -> int:
    """Ladder steps run so far (the answer target itself is not a step)."""
    return len(caller.done - {TARGET})


def dashboard(
    floor: Floor, kpis: Kpis, config: QueuesConfig, flows: FlowLibrary, tz: tzinfo
) -> Snapshot:
    """The board now (JSON-ready; the contract's dashboard snapshot)."""
    callbacks = {status: kpis.callbacks.get(status, 0) for status in CALLBACK_STATUSES}
    totals = {
        "waiting": len(floor.waiting),
        **level_view(kpis.overall),
        "open_callbacks": callbacks["open"] + callbacks["dialling"],
        "unreachable_reports": sum(n for _, n in kpis.unreachable),
    }
    return {
        "at": floor.now.isoformat(),
        "since": kpis.since.isoformat(),
        "timezone": getattr(tz, "key", None) or str(tz),  # the IANA name
        "totals": totals,
        "waiting": [_waiting_view(floor, w) for w in floor.waiting],
        "talking": [
            {
                "call_id": t.call_id,
                "queue": t.queue,
                "agent": t.agent,
                "talk": round(floor.mono - t.started, 3),
            }
            for t in sorted(floor.talking, key=lambda t: t.started)
        ],
        "agents": [agent_entry(a, floor.now, kpis.agents.get(a.id)) for a in floor.agents],
        "queues": [
            _queue_view(floor, kpis, name, spec.title, spec.answer_target)
            for name, spec in config.queues.items()
        ],
        "lines": lines_view(kpis, flows),
        "callbacks": callbacks,
        "unreachable": [{"line": line, "reports": n} for line, n in kpis.unreachable],
    }


def _waiting_view(floor: Floor, caller: WaitingCaller) -> Snapshot:
    return {
        "call_id": caller.call_id,
        "queue": caller.queue,
        "line": caller.line,
        "caller_class": caller.caller_class,
        "priority": caller.priority,
        "since": caller.joined_at.isoformat(),
        "wait": floor.wait(caller),
        "escalations": escalations(caller),
    }


def _queue_view(floor: Floor, kpis: Kpis, name: str, title: str, target: float) -> Snapshot:
    waiting = [w for w in floor.waiting if w.queue == name]
    return {
        "key": name,
        "title": title,
        "answer_target": target,
        "waiting": len(waiting),
        "longest_wait": max((floor.wait(w) for w in waiting), default=0.0),
        "ready_agents": sum(1 for a in floor.agents if name in a.queues and a.state == "ready"),
        "talking": sum(1 for t in floor.talking if t.queue == name),
        **level_view(kpis.queues.get(name)),
    }


def agent_entry(agent: AgentSnapshot, now: datetime, stats: AgentStats | None) -> Snapshot:
    """An agent on the board: state, time in it, and today's figures."""
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


def lines_view(kpis: Kpis, flows: FlowLibrary) -> list[Snapshot]:
    """The configured lines, then any other line that had calls today."""
    reports = dict(kpis.unreachable)

    def line_view(number: str, city: str, sphere: str) -> Snapshot:
        return {
            "key": number,
            "city": city,
            "sphere": sphere,
            **level_view(kpis.lines.get(number)),
            "unreachable_reports": reports.get(line_key(number) or "", 0),
        }

    out = [line_view(n, line.city, str(line.sphere)) for n, line in flows.lines.items()]
    configured = {entry["key"] for entry in out}
    out += [line_view(n, "", "") for n in sorted(set(kpis.lines) - configured)]
    return out


def queues_view(floor: Floor, config: QueuesConfig) -> Mapping[str, Any]:
    """GET /api/queues: each queue now, who waits (longest first) and its agents."""
    out = {}
    for name, spec in config.queues.items():
        out[name] = {
            "title": spec.title,
            "answer_target": spec.answer_target,
            "waiting": [
                {
                    "call_id": w.call_id,
                    "line": w.line,
                    "caller_class": w.caller_class,
                    "priority": w.priority,
                    "wait": floor.wait(w),
                    "escalations": steps_run(w),
                }
                for w in floor.waiting
                if w.queue == name
            ],
            "agents": {a.id: a.state for a in floor.agents if name in a.queues},
            "talking": sum(1 for t in floor.talking if t.queue == name),
        }
    return {"queues": out}

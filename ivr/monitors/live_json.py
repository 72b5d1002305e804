"""The live floor (waiting callers, talks, agents) as JSON for the other engines, and back
(the payload of ivr.storage.live_state).

WaitingCaller.joined and TalkingCall.started are loop times, which mean nothing in another
process: they travel as durations at the writer's `now` ("waited 12.5 s"), and the reader
rebuilds them on its own loop clock from `written`, its loop time when the row was written
(the moment it read it, less the row's age): joined = written - waited.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr.monitors.agents import AgentSnapshot
from ivr.monitors.talk import TalkingCall
from ivr.monitors.waiting import WaitingCaller
from ivr.queues.model import EscalationStep
from ivr.routing.escalation import Mark

FORMAT = 1  # the payload's "format": a reader refuses another one


class LiveJsonError(ValueError):
    """A payload this engine cannot read (another format, a missing field)."""


@dataclass(frozen=True)
class LiveFloor:
    """What one Asterisk's owner saw live, on this engine's loop clock."""

    waiting: tuple[WaitingCaller, ...] = ()
    talking: tuple[TalkingCall, ...] = ()
    agents: tuple[AgentSnapshot, ...] = ()


def floor_json(
    now: float,
    waiting: Iterable[WaitingCaller],
    talking: Iterable[TalkingCall],
    agents: Iterable[AgentSnapshot],
) -> dict[str, Any]:
    """The floor at loop time `now`, JSON-ready. Callers on the same ladder share it (a
    mass outage puts thousands of callers on a few ladders)."""
    ladders: dict[tuple[Mark, ...], int] = {}
    callers = [_caller_json(now, caller, ladders) for caller in waiting]
    return {
        "format": FORMAT,
        "ladders": [[_mark_json(mark) for mark in marks] for marks in ladders],
        "waiting": callers,
        "talking": [
            {"call_id": t.call_id, "queue": t.queue, "agent": t.agent, "talked": now - t.started}
            for t in talking
        ],
        "agents": [agent.view() for agent in agents],
    }


def floor_from_json(payload: Mapping[str, Any], written: float) -> LiveFloor:
    """The floor a payload holds, `written` being this engine's loop time when it was
    written. A payload it cannot read raises LiveJsonError."""
    if payload.get("format") != FORMAT:
        raise LiveJsonError(f"live state format {payload.get('format')!r}, not {FORMAT}")
    try:
        ladders = [tuple(_mark(m) for m in marks) for marks in payload["ladders"]]
        return LiveFloor(
            tuple(_caller(c, written, ladders) for c in payload["waiting"]),
            tuple(
                TalkingCall(t["call_id"], t["queue"], t["agent"], written - float(t["talked"]))
                for t in payload["talking"]
            ),
            tuple(_agent(a) for a in payload["agents"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LiveJsonError(f"live state not readable: {type(exc).__name__} {exc}") from exc


def _caller_json(
    now: float, caller: WaitingCaller, ladders: dict[tuple[Mark, ...], int]
) -> dict[str, Any]:
    return {
        "call_id": caller.call_id,
        "queue": caller.queue,
        "line": caller.line,
        "caller_class": caller.caller_class,
        "priority": caller.priority,
        "waited": now - caller.joined,
        "joined_at": caller.joined_at.isoformat(),
        "ladder": ladders.setdefault(caller.marks, len(ladders)),  # its marks
        "done": sorted(caller.done),
        "in_queue": caller.in_queue,
    }


def _caller(
    data: Mapping[str, Any], written: float, ladders: list[tuple[Mark, ...]]
) -> WaitingCaller:
    return WaitingCaller(
        call_id=str(data["call_id"]),
        queue=str(data["queue"]),
        line=str(data["line"]),
        caller_class=str(data["caller_class"]),
        priority=int(data["priority"]),
        joined=written - float(data["waited"]),
        joined_at=datetime.fromisoformat(data["joined_at"]),
        marks=ladders[int(data["ladder"])],
        done=frozenset(int(index) for index in data["done"]),
        in_queue=bool(data["in_queue"]),
    )


def _mark_json(mark: Mark) -> dict[str, Any]:
    step = mark.step
    return {
        "after": mark.after,
        "index": mark.index,
        "step": None
        if step is None
        else {
            "after": step.after,
            "action": step.action,
            "raise_by": step.raise_by,
            "queue": step.queue,
        },
    }


def _mark(data: Mapping[str, Any]) -> Mark:
    step = data["step"]
    return Mark(
        float(data["after"]),
        int(data["index"]),
        None
        if step is None
        else EscalationStep(
            float(step["after"]), str(step["action"]), int(step["raise_by"]), str(step["queue"])
        ),
    )


def _agent(data: Mapping[str, Any]) -> AgentSnapshot:
    return AgentSnapshot(
        id=str(data["id"]),
        name=str(data["name"]),
        interface=str(data["interface"]),
        state=str(data["state"]),
        paused=bool(data["paused"]),
        reason=str(data["reason"]),
        queues=frozenset(str(q) for q in data["queues"]),
        since=datetime.fromisoformat(data["since"]),
    )

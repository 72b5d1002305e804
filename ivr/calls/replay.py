"""`ivr flow replay`: run journalled calls again (line, caller, time, the keys they pressed)
through the live flows and through edited ones, and list the calls the edit would route
differently: another queue, another caller class, served by the menu instead of a queue
(or the other way round), or the dialplan's fallback. No Asterisk: the simulator runs both.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr.calls.simulate import Simulation, simulate
from ivr.flow.context import Directory
from ivr.flow.model import FlowLibrary
from ivr.queues.model import QueuesConfig
from ivr.storage.repository import MenuCall


def route_text(run: Simulation) -> str:
    """Where a run ended, as a supervisor reads it."""
    if run.outcome == "self_service":
        return "self-service"
    where = f"{run.queue} (class {run.caller_class})"
    return f"fallback {where}" if run.outcome == "fallback" else where


Change = tuple[str, str]  # kind (outcome | queue | class), what changed


def changes(before: Simulation, after: Simulation) -> list[Change]:
    """How `after` routes differently from `before` ([] when the same): another outcome
    (self-service, queue, fallback), else another queue and/or caller class."""
    if before.outcome != after.outcome:
        return [("outcome", f"{route_text(before)} -> {route_text(after)}")]
    if before.outcome == "self_service":
        return []
    found = []
    if before.queue != after.queue:
        found.append(("queue", f"queue {before.queue} -> {after.queue}"))
    if before.caller_class != after.caller_class:
        found.append(("class", f"class {before.caller_class} -> {after.caller_class}"))
    return found


def fixed(at: datetime) -> Callable[[], datetime]:
    return lambda: at


@dataclass(frozen=True)
class Difference:
    call: MenuCall
    before: Simulation  # on the live flows
    after: Simulation  # on the edited flows
    changes: tuple[Change, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call.call_id,
            "line": self.call.line,
            "caller": self.call.caller,
            "at": self.call.at.isoformat(),
            "keys": " ".join(self.call.keys),
            "changes": [{"kind": kind, "change": text} for kind, text in self.changes],
            "before": {"route": route_text(self.before), "path": ">".join(self.before.path)},
            "after": {"route": route_text(self.after), "path": ">".join(self.after.path)},
        }

    def text(self) -> str:
        keys = " ".join(self.call.keys) or "none"
        how = "; ".join(text for _, text in self.changes)
        return (
            f"{self.call.at:%Y-%m-%d %H:%M} call {self.call.call_id} line {self.call.line} "
            f"caller {self.call.caller or '-'} keys {keys!r}: {how}\n"
            f"    live:   {' > '.join(self.before.path) or '-'}\n"
            f"    edited: {' > '.join(self.after.path) or '-'}"
        )


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    differences: tuple[Difference, ...]
    without_keys: int  # journalled without their keys: not replayed

    def counts(self) -> dict[str, int]:
        """How many calls change in each way (outcome, queue, class)."""
        return dict(Counter(kind for d in self.differences for kind, _ in d.changes))

    def as_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "different": len(self.differences),
            "by_change": self.counts(),
            "without_keys": self.without_keys,
            "differences": [d.as_dict() for d in self.differences],
        }

    def text(self) -> str:
        lines = [d.text() for d in self.differences]
        by_change = ", ".join(f"{kind} {n}" for kind, n in sorted(self.counts().items()))
        summary = f"{len(self.differences)} of {self.replayed} calls would route differently"
        lines.append(summary + (f" ({by_change})" if by_change else ""))
        if self.without_keys:
            lines.append(
                f"{self.without_keys} calls in the window were journalled without their keys "
                "(before the journal kept them): not replayed"
            )
        return "\n".join(lines)


async def replay(
    calls: Sequence[MenuCall],
    live: FlowLibrary,
    edited: FlowLibrary,
    queues: QueuesConfig,
    directory: Directory,
    without_keys: int = 0,
) -> ReplayReport:
    """Each call through `live` and `edited` at its own time, with its own keys."""
    differences = []
    for call in calls:
        runs = [
            await simulate(library, queues, call.line, call.caller, call.keys, directory, now)
            for library, now in ((live, fixed(call.at)), (edited, fixed(call.at)))
        ]
        found = changes(*runs)
        if found:
            differences.append(Difference(call, runs[0], runs[1], tuple(found)))
    return ReplayReport(len(calls), tuple(differences), without_keys)

"""Run a line's flow without Asterisk: what the caller hears, which keys it takes, where it ends."""

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ivr.flow.model import FlowLibrary
from ivr.flow.runner import FlowRunError, run_flow
from ivr.queues.model import QueuesConfig
from ivr.routing.decide import decide


@dataclass
class ScriptedCaller:
    """A CallPort that answers each prompt with the next DTMF token (silence when none left)."""

    tokens: deque[str | None]
    heard: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)  # prompts that took no keys
    asked: list[tuple[tuple[str, ...], int]] = field(default_factory=list)  # prompts, timeout

    async def play(self, prompts: tuple[str, ...]) -> None:
        self.heard.extend(prompts)
        self.played.extend(prompts)

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        self.heard.extend(prompts)
        self.asked.append((prompts, timeout_ms))
        return self.tokens.popleft() if self.tokens else None


@dataclass(frozen=True)
class Simulation:
    line: str
    caller: str
    line_known: bool
    flow: str
    path: tuple[str, ...]
    heard: tuple[str, ...]
    queue: str
    caller_class: str
    priority: int
    reason: str
    unused_keys: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    def text(self) -> str:
        rows = [
            ("line", f"{self.line}{'' if self.line_known else ' (not in lines.yaml)'}"),
            ("caller", self.caller),
            ("flow", self.flow),
            ("heard", " ".join(self.heard) or "-"),
            ("menu path", " > ".join(self.path) or "-"),
            ("route", f"{self.queue} class={self.caller_class} priority={self.priority}"),
            ("why", self.reason),
        ]
        if self.unused_keys:
            rows.append(("unused keys", " ".join(self.unused_keys)))
        return "\n".join(f"{k:>11}: {v}" for k, v in rows)


async def simulate(
    library: FlowLibrary, queues: QueuesConfig, line: str, caller: str, keys: list[str]
) -> Simulation:
    known, flow = library.flow_for(line)
    port = ScriptedCaller(deque[str | None](keys))
    try:
        outcome = await run_flow(flow, port)
        decision = decide(outcome.route.queue, outcome.route.caller_class, queues)
        path, reason = outcome.path, decision.reason
    except FlowRunError as exc:
        # What the dialplan does when the engine fails: the fallback queue.
        decision = decide(queues.fallback_queue, "unknown", queues)
        path, reason = (), f"engine error, dialplan fallback: {exc}"
    return Simulation(
        line=line,
        caller=caller,
        line_known=known is not None,
        flow=flow.name,
        path=path,
        heard=tuple(port.heard),
        queue=decision.queue,
        caller_class=decision.caller_class,
        priority=decision.priority,
        reason=reason,
        unused_keys=tuple(k for k in port.tokens if k is not None),
    )

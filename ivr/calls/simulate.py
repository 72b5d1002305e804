"""Run a line's flow without Asterisk: what the caller hears, which keys it takes, where it
ends. Lookups use the real store; what the flow would record is shown, not written."""

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime
from typing import Any

from ivr.calls.menu import fallback_decision, run_menu
from ivr.events.model import Event
from ivr.flow.context import CallInfo, Directory, FlowServices
from ivr.flow.dtmf import SILENCE, KeyPlan
from ivr.flow.model import FlowLibrary
from ivr.flow.runner import FlowRunError, new_context
from ivr.queues.model import QueuesConfig


@dataclass
class ScriptedCaller:
    """A CallPort that answers each prompt with the next token as it is (silence when none
    left): the steps' unit tests use it to hand a step any keys."""

    tokens: deque[str | None]
    heard: list[str] = field(default_factory=list)
    asked: list[tuple[tuple[str, ...], int]] = field(default_factory=list)  # prompts, timeout

    async def play(self, prompts: tuple[str, ...]) -> None:
        self.heard.extend(prompts)

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        self.heard.extend(prompts)
        self.asked.append((prompts, timeout_ms))
        token = self.tokens.popleft() if self.tokens else None
        return None if token == SILENCE else token


@dataclass
class PlannedCaller:
    """The simulator's caller: a `--dtmf` script read as ivr.flow.dtmf says, the same way
    `ivr call` presses it on a real call."""

    plan: KeyPlan
    heard: list[str] = field(default_factory=list)

    async def play(self, prompts: tuple[str, ...]) -> None:
        self.heard.extend(prompts)

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        self.heard.extend(prompts)
        return self.plan.answer(max_digits) or None


class TextSpeech:
    """Speech for the simulator: the text itself stands for the sound."""

    async def sound_for(self, text: str, language: str) -> str:
        return f"say[{language}]: {text}"


@dataclass(frozen=True)
class Simulation:
    line: str
    caller: str
    line_known: bool
    flow: str
    at: str
    language: str
    subscriber: str  # the identified subscriber's contract, "" if none
    path: tuple[str, ...]
    heard: tuple[str, ...]
    outcome: str  # queue | self_service | fallback
    queue: str
    caller_class: str
    priority: int
    reason: str
    records: tuple[dict[str, Any], ...]  # what the flow would store
    unused_keys: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def text(self) -> str:
        rows = [
            ("line", f"{self.line}{'' if self.line_known else ' (not in lines.yaml)'}"),
            ("caller", self.caller + (f" (contract {self.subscriber})" if self.subscriber else "")),
            ("time", self.at),
            ("flow", f"{self.flow} ({self.language})"),
            ("heard", "\n             ".join(self.heard) or "-"),
            ("menu path", " > ".join(self.path) or "-"),
        ]
        if self.outcome == "self_service":
            rows.append(("outcome", "served by the menu, call ends"))
        else:
            rows.append(
                ("route", f"{self.queue} class={self.caller_class} priority={self.priority}")
            )
        rows.append(("why", self.reason))
        rows += [("records", _record_text(r)) for r in self.records]
        if self.unused_keys:
            rows.append(("unused keys", " ".join(self.unused_keys)))
        return "\n".join(f"{k:>11}: {v}" for k, v in rows)


def _record_text(record: dict[str, Any]) -> str:
    shown = (f"{k}={v}" for k, v in record.items() if k not in ("event", "call_id", "at") and v)
    return f"{record['event']} {' '.join(shown)}"


def _as_record(event: Event) -> dict[str, Any]:
    assert is_dataclass(event)
    fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(event).items()}
    return {"event": type(event).__name__, **fields}


async def simulate(
    library: FlowLibrary,
    queues: QueuesConfig,
    line: str,
    caller: str,
    keys: Sequence[str],
    directory: Directory,
    now: Callable[[], datetime],
) -> Simulation:
    known, flow = library.flow_for(line)
    plan = KeyPlan(keys)
    port = PlannedCaller(plan)
    records: list[Event] = []
    services = FlowServices(directory, TextSpeech(), records.append, now)
    call = CallInfo("simulated", line, caller, known)
    ctx = new_context(library, call, port, services)
    try:
        decision = (await run_menu(ctx, queues)).decision
        if decision is None:
            result, reason = "self_service", "the flow ended the call"
        else:
            result, reason = "queue", decision.reason
    except FlowRunError as exc:
        # What the dialplan does when the engine fails: the fallback queue.
        decision = fallback_decision(queues)
        result, reason = "fallback", f"engine error, dialplan fallback: {exc}"
    return Simulation(
        line=line,
        caller=caller,
        line_known=known is not None,
        flow=flow.name,
        at=library.calendar.local(now()).isoformat(timespec="minutes"),
        language=ctx.language,
        subscriber=ctx.subscriber.contract if ctx.subscriber else "",
        path=tuple(ctx.path),
        heard=tuple(port.heard),
        outcome=result,
        queue=decision.queue if decision else "",
        caller_class=decision.caller_class if decision else "",
        priority=decision.priority if decision else 0,
        reason=reason,
        records=tuple(_as_record(e) for e in records),
        unused_keys=plan.unused,
    )

"""menu: a prompt, one DTMF key per option, retries on timeout or an invalid key."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import (
    FlowSpecError,
    KeyPath,
    StepContext,
    StepResult,
    prompts_of,
    target_of,
)

DTMF_KEYS = frozenset("0123456789*#")


def _options(spec: Mapping[str, Any]) -> dict[str, str]:
    options = spec.get("options")
    if not isinstance(options, dict) or not options:
        raise FlowSpecError(("options",), "expected a mapping of DTMF key to node id")
    result = {}
    for key, target in options.items():
        key = str(key)
        if key not in DTMF_KEYS:
            raise FlowSpecError(("options", key), "not a DTMF key (0-9 * #)", at_key=True)
        if not isinstance(target, str):
            raise FlowSpecError(("options", key), "expected a node id")
        result[key] = target
    return result


def _whole(spec: Mapping[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FlowSpecError((key,), "expected a number >= 0")
    return int(value * 1000) if key == "timeout" else int(value)


class Menu:
    keys = frozenset(
        {"type", "prompt", "invalid_prompt", "timeout", "retries", "options"}
        | {"on_timeout", "on_invalid"}
    )

    def check(self, spec: Mapping[str, Any]) -> dict[KeyPath, str]:
        prompts_of(spec, "prompt")
        prompts_of(spec, "invalid_prompt")
        _whole(spec, "timeout", 5)
        _whole(spec, "retries", 2)
        targets: dict[KeyPath, str] = {
            ("options", key): target for key, target in _options(spec).items()
        }
        for key in ("on_timeout", "on_invalid"):
            target = target_of(spec, key, required=False)
            if target:
                targets[(key,)] = target
        return targets

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        options = _options(spec)
        prompts = prompts_of(spec, "prompt")
        timeout_ms = _whole(spec, "timeout", 5)
        attempts = 1 + _whole(spec, "retries", 2)
        outcome = "timeout"
        for _ in range(attempts):
            digit = await ctx.port.ask(prompts, timeout_ms, 1)
            if digit and digit in options:
                ctx.path.append(f"{node_id}:{digit}")
                return StepResult(next=options[digit])
            outcome = "invalid" if digit else "timeout"
            if digit:
                await ctx.port.play(prompts_of(spec, "invalid_prompt"))
        ctx.path.append(f"{node_id}:{outcome}")
        return StepResult(next=target_of(spec, f"on_{outcome}", required=False))

"""menu: a prompt, one DTMF key per option, retries on timeout or an invalid key."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import FlowSpecError, StepContext, StepResult, prompts_of, target_of

DTMF_KEYS = frozenset("0123456789*#")


def _options(spec: Mapping[str, Any], node_id: str) -> dict[str, str]:
    options = spec.get("options")
    if not isinstance(options, dict) or not options:
        raise FlowSpecError(f"node {node_id!r}: options: expected a mapping of DTMF key to node id")
    result = {}
    for key, target in options.items():
        key = str(key)
        if key not in DTMF_KEYS:
            raise FlowSpecError(f"node {node_id!r}: options: {key!r} is not a DTMF key (0-9 * #)")
        if not isinstance(target, str):
            raise FlowSpecError(f"node {node_id!r}: options.{key}: expected a node id")
        result[key] = target
    return result


def _whole(spec: Mapping[str, Any], key: str, default: int, node_id: str) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FlowSpecError(f"node {node_id!r}: {key}: expected a number >= 0")
    return int(value * 1000) if key == "timeout" else int(value)


class Menu:
    def check(self, node_id: str, spec: Mapping[str, Any]) -> list[str]:
        prompts_of(spec, "prompt", node_id)
        prompts_of(spec, "invalid_prompt", node_id)
        _whole(spec, "timeout", 5, node_id)
        _whole(spec, "retries", 2, node_id)
        targets = list(_options(spec, node_id).values())
        for key in ("on_timeout", "on_invalid"):
            target = target_of(spec, key, node_id, required=False)
            if target:
                targets.append(target)
        return targets

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        options = _options(spec, node_id)
        prompts = prompts_of(spec, "prompt", node_id)
        timeout_ms = _whole(spec, "timeout", 5, node_id)
        attempts = 1 + _whole(spec, "retries", 2, node_id)
        outcome = "timeout"
        for _ in range(attempts):
            digit = await ctx.port.ask(prompts, timeout_ms, 1)
            if digit and digit in options:
                ctx.path.append(f"{node_id}:{digit}")
                return StepResult(next=options[digit])
            outcome = "invalid" if digit else "timeout"
            if digit:
                await ctx.port.play(prompts_of(spec, "invalid_prompt", node_id))
        ctx.path.append(f"{node_id}:{outcome}")
        fallback = target_of(spec, f"on_{outcome}", node_id, required=False)
        return StepResult(next=fallback)

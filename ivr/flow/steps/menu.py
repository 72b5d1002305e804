"""menu: a prompt, one DTMF key per option, retries on timeout or an invalid key."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    ASKING_KEYS,
    Checked,
    FlowSpecError,
    KeyPath,
    StepResult,
    ask_until_valid,
    check_asking,
    target_of,
    way_out,
)

DTMF_KEYS = frozenset("0123456789*#")


def dtmf_options(spec: Mapping[str, Any], key: str = "options") -> dict[str, str]:
    """`options`: DTMF key -> value; 1 and "1" are the same key."""
    options = spec.get(key)
    if not isinstance(options, dict) or not options:
        raise FlowSpecError((key,), "expected a mapping of DTMF key to node id")
    result: dict[str, str] = {}
    for raw, value in options.items():
        digit = str(raw)
        if digit not in DTMF_KEYS:
            raise FlowSpecError((key, digit), "not a DTMF key (0-9 * #)", at_key=True)
        if digit in result:
            raise FlowSpecError((key, digit), f"DTMF key {digit} is listed twice", at_key=True)
        if not isinstance(value, str) or not value:
            raise FlowSpecError((key, digit), "expected a name")
        result[digit] = value
    return result


class Menu:
    keys = frozenset({"type", "options", "on_timeout", "on_invalid"} | ASKING_KEYS)

    def check(self, spec: Mapping[str, Any]) -> Checked:
        refs = check_asking(spec)
        targets: dict[KeyPath, str] = {("options", k): t for k, t in dtmf_options(spec).items()}
        targets[("on_timeout",)] = way_out(spec, "on_timeout", "when he presses nothing")
        targets[("on_invalid",)] = way_out(spec, "on_invalid", "after too many wrong keys")
        return Checked(targets, refs)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        options = dtmf_options(spec)
        digit, outcome = await ask_until_valid(ctx, spec, 1, options.__contains__)
        if digit is not None:
            ctx.path.append(f"{node_id}:{digit}")
            return StepResult(next=options[digit])
        ctx.path.append(f"{node_id}:{outcome}")
        return StepResult(next=target_of(spec, f"on_{outcome}", required=False))

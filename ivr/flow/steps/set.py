"""set: give variables values (text with {placeholders} of other variables), then go on."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.prompts import fill, placeholders
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    StepResult,
    call_values,
    target_of,
    targets_of,
)


def _values(spec: Mapping[str, Any]) -> dict[str, str]:
    values = spec.get("vars")
    if not isinstance(values, dict) or not values:
        raise FlowSpecError(("vars",), "expected a mapping of variable name to value")
    out = {}
    for name, value in values.items():
        if not str(name).isidentifier():
            raise FlowSpecError(("vars", str(name)), "not a variable name", at_key=True)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FlowSpecError(("vars", str(name)), "expected text or a number")
        try:
            placeholders(str(value))
        except ValueError as exc:
            raise FlowSpecError(("vars", str(name)), str(exc)) from None
        out[str(name)] = str(value)
    return out


class Set:
    keys = frozenset({"type", "vars", "next"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        _values(spec)
        return Checked(targets_of(spec, "next", required=("next",)))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        values = call_values(ctx)
        ctx.vars.update({name: fill(value, values) for name, value in _values(spec).items()})
        return StepResult(next=target_of(spec, "next"))

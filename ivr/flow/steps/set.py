"""set: give variables values (text with {placeholders} of other variables), then go on."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.prompts import fill, placeholders
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    StepResult,
    StepType,
    call_values,
    targets_of,
)
from ivr.flow.steps.schema_parts import StepSchema, node, ref


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


@dataclass(frozen=True)
class SetConfig:
    values: Mapping[str, str]  # variable -> text with {placeholders}
    next: str


class Set(StepType[SetConfig]):
    keys = frozenset({"type", "vars", "next"})
    shape = "shape=note"
    schema = StepSchema(
        "Give variables values ({name} inserts another variable), then go on.",
        {
            "vars": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": ref("variable"),
                "additionalProperties": {"type": ["string", "number"]},
                "description": 'Variable -> value, e.g. {dialled_from: "{caller}"}.',
            },
            "next": node("The node after."),
        },
        ("vars", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[SetConfig]:
        values = _values(spec)
        targets = targets_of(spec, "next", required=("next",))
        return Checked(SetConfig(values, targets[("next",)]), targets)

    def detail(self, config: SetConfig) -> list[str]:
        return [", ".join(f"{k}={v}" for k, v in config.values.items())]

    async def run(self, node_id: str, config: SetConfig, ctx: StepContext) -> StepResult:
        values = call_values(ctx)
        ctx.vars.update({name: fill(value, values) for name, value in config.values.items()})
        return StepResult(next=config.next)

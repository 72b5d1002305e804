"""choose: the caller picks one of several values with a key; the value goes into a
variable (where a number was published, the problem type, ...)."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    ASKING_KEYS,
    Checked,
    StepResult,
    ask_until_valid,
    check_asking,
    target_of,
    targets_of,
    var_name,
    way_out,
)
from ivr.flow.steps.menu import dtmf_options


class Choose:
    keys = frozenset({"type", "var", "options", "next", "on_fail"}) | ASKING_KEYS

    def check(self, spec: Mapping[str, Any]) -> Checked:
        var_name(spec, "var", default="")
        dtmf_options(spec)
        refs = check_asking(spec)
        targets = targets_of(spec, "next", required=("next",))
        targets[("on_fail",)] = way_out(spec, "on_fail", "when he chooses nothing valid")
        return Checked(targets, refs)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        options = dtmf_options(spec)
        digit, outcome = await ask_until_valid(ctx, spec, 1, options.__contains__)
        if digit is None:
            ctx.path.append(f"{node_id}:{outcome}")
            return StepResult(next=target_of(spec, "on_fail", required=False))
        ctx.vars[str(var_name(spec, "var", default=""))] = options[digit]
        ctx.path.append(f"{node_id}:{digit}")
        return StepResult(next=target_of(spec, "next"))

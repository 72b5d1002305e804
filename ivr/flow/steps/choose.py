"""choose: the caller picks one of several values with a key; the value goes into a
variable (where a number was published, the problem type, ...)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.asking import (
    ASKING,
    ASKING_KEYS,
    ASKING_PROMPTS,
    Asking,
    ask_until_valid,
    dtmf_options,
    read_asking,
)
from ivr.flow.steps.base import (
    Checked,
    StepResult,
    StepType,
    read_prompts,
    required_var,
    targets_of,
    way_out,
)
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.schema_parts import StepSchema, node, options, text, var


@dataclass(frozen=True)
class ChooseConfig:
    var: str
    options: Mapping[str, str]  # DTMF key -> value
    asking: Asking
    next: str
    on_fail: str


class Choose(StepType[ChooseConfig]):
    keys = frozenset({"type", "var", "options", "next", "on_fail"}) | ASKING_KEYS
    prompt_keys = ASKING_PROMPTS
    shape = "shape=box"
    schema = StepSchema(
        "The caller picks one of several values with a key; it goes into a variable.",
        {
            **ASKING,
            "var": var("The variable that gets the chosen value."),
            "options": options(text("Value stored for this key."), "Key -> value."),
            "next": node("The node after a choice."),
            "on_fail": node("Where to go when the caller chose nothing valid."),
        },
        ("var", "options", "next", "on_fail"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[ChooseConfig]:
        name = required_var(spec, "var")
        values = dtmf_options(spec)
        said = read_prompts(spec, self.prompt_keys)
        asking = read_asking(spec, said)
        targets = targets_of(spec, "next", required=("next",))
        targets[("on_fail",)] = way_out(spec, "on_fail", "when he chooses nothing valid")
        config = ChooseConfig(name, values, asking, targets[("next",)], targets[("on_fail",)])
        return Checked(config, targets, said.refs, said.every)

    def detail(self, config: ChooseConfig) -> list[str]:
        return [f"var {config.var}", shown(config.asking.prompt)]

    async def run(self, node_id: str, config: ChooseConfig, ctx: StepContext) -> StepResult:
        values = config.options
        digit, outcome = await ask_until_valid(ctx, config.asking, 1, values.__contains__)
        if digit is None:
            ctx.path.append(f"{node_id}:{outcome}")
            return StepResult(next=config.on_fail)
        ctx.vars[config.var] = values[digit]
        ctx.path.append(f"{node_id}:{digit}")
        return StepResult(next=config.next)

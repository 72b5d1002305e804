"""menu: a prompt, one DTMF key per option, retries on timeout or an invalid key."""

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
    KeyPath,
    StepResult,
    StepType,
    read_prompts,
    way_out,
)
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.schema_parts import StepSchema, node, options


@dataclass(frozen=True)
class MenuConfig:
    asking: Asking
    options: Mapping[str, str]  # DTMF key -> node id
    on_timeout: str
    on_invalid: str


class Menu(StepType[MenuConfig]):
    keys = frozenset({"type", "options", "on_timeout", "on_invalid"} | ASKING_KEYS)
    prompt_keys = ASKING_PROMPTS
    shape = "shape=box"
    schema = StepSchema(
        "A prompt, then one key per option; asks again on a timeout or a wrong key.",
        {
            **ASKING,
            "options": options(node("Node for this key."), "Key -> node to go to."),
            "on_timeout": node("Where to go when the caller pressed nothing."),
            "on_invalid": node("Where to go after too many wrong keys."),
        },
        ("options", "on_timeout", "on_invalid"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[MenuConfig]:
        said = read_prompts(spec, self.prompt_keys)
        asking = read_asking(spec, said)
        choices = dtmf_options(spec)
        targets: dict[KeyPath, str] = {("options", k): t for k, t in choices.items()}
        on_timeout = way_out(spec, "on_timeout", "when he presses nothing")
        on_invalid = way_out(spec, "on_invalid", "after too many wrong keys")
        targets[("on_timeout",)], targets[("on_invalid",)] = on_timeout, on_invalid
        config = MenuConfig(asking, choices, on_timeout, on_invalid)
        return Checked(config, targets, said.refs, said.every)

    def detail(self, config: MenuConfig) -> list[str]:
        return [shown(config.asking.prompt)]

    async def run(self, node_id: str, config: MenuConfig, ctx: StepContext) -> StepResult:
        choices = config.options
        digit, outcome = await ask_until_valid(ctx, config.asking, 1, choices.__contains__)
        if digit is not None:
            ctx.path.append(f"{node_id}:{digit}")
            return StepResult(next=choices[digit])
        ctx.path.append(f"{node_id}:{outcome}")
        return StepResult(next=config.on_timeout if outcome == "timeout" else config.on_invalid)

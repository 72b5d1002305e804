"""play: say one or more prompts, then go on."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.prompts import PromptRef
from ivr.flow.steps.base import Checked, StepResult, StepType, play, read_prompts, targets_of
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.schema_parts import StepSchema, node, prompt


@dataclass(frozen=True)
class PlayConfig:
    prompt: tuple[PromptRef, ...]
    next: str


class Play(StepType[PlayConfig]):
    keys = frozenset({"type", "prompt", "next"})
    prompt_keys = ("prompt",)
    shape = "shape=ellipse"
    schema = StepSchema(
        "Say one or more prompts, then go on.",
        {"prompt": prompt(), "next": node("The node after the prompts.")},
        ("next",),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[PlayConfig]:
        said = read_prompts(spec, self.prompt_keys)
        targets = targets_of(spec, "next", required=("next",))
        return Checked(
            PlayConfig(said["prompt"], targets[("next",)]), targets, said.refs, said.every
        )

    def detail(self, config: PlayConfig) -> list[str]:
        return [shown(config.prompt)]

    async def run(self, node_id: str, config: PlayConfig, ctx: StepContext) -> StepResult:
        await play(ctx, config.prompt)
        return StepResult(next=config.next)

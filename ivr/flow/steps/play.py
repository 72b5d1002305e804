"""play: say one or more prompts, then go on."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    Checked,
    StepResult,
    play,
    prompt_refs,
    prompts_of,
    target_of,
    targets_of,
)


class Play:
    keys = frozenset({"type", "prompt", "next"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        prompts_of(spec, "prompt")
        return Checked(targets_of(spec, "next", required=("next",)), prompt_refs(spec, "prompt"))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        await play(ctx, spec, "prompt")
        return StepResult(next=target_of(spec, "next"))

"""play: say one or more prompts, then go on."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import KeyPath, StepContext, StepResult, prompts_of, target_of


class Play:
    keys = frozenset({"type", "prompt", "next"})

    def check(self, spec: Mapping[str, Any]) -> dict[KeyPath, str]:
        prompts_of(spec, "prompt")
        target = target_of(spec, "next")
        return {("next",): target} if target else {}

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        await ctx.port.play(prompts_of(spec, "prompt"))
        return StepResult(next=target_of(spec, "next"))

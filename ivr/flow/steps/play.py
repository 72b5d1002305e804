"""play: say one or more prompts, then go on."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import StepContext, StepResult, prompts_of, target_of


class Play:
    def check(self, node_id: str, spec: Mapping[str, Any]) -> list[str]:
        prompts_of(spec, "prompt", node_id)
        return [t for t in [target_of(spec, "next", node_id)] if t]

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        await ctx.port.play(prompts_of(spec, "prompt", node_id))
        return StepResult(next=target_of(spec, "next", node_id))

"""hangup: say goodbye (optional prompt) and end the call in the menu."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import Checked, StepResult, play, prompt_refs, prompts_of


class Hangup:
    keys = frozenset({"type", "prompt"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        prompts_of(spec, "prompt")
        return Checked(refs=prompt_refs(spec, "prompt"), exits=True)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        await play(ctx, spec, "prompt")
        ctx.path.append(f"{node_id}:hangup")
        return StepResult(hangup=True)

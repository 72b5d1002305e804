"""route: end the menu and send the caller to a queue as a caller class."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import Checked, Ref, RouteRequest, StepResult, name_of, play, prompt_refs


class Route:
    keys = frozenset({"type", "queue", "class", "prompt"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        refs = [
            Ref("queue", name_of(spec, "queue"), ("queue",)),
            Ref("class", name_of(spec, "class"), ("class",)),
            *prompt_refs(spec, "prompt"),
        ]
        return Checked(refs=refs, exits=True)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        await play(ctx, spec, "prompt")
        return StepResult(route=RouteRequest(name_of(spec, "queue"), name_of(spec, "class")))

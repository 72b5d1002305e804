"""route: end the menu and send the caller to a queue as a caller class."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.prompts import PromptRef
from ivr.flow.steps.base import (
    Checked,
    Ref,
    RouteRequest,
    StepResult,
    StepType,
    name_of,
    play,
    read_prompts,
)
from ivr.flow.steps.drawing import TERMINAL
from ivr.flow.steps.schema_parts import CLASS, QUEUE, StepSchema, prompt


@dataclass(frozen=True)
class RouteConfig:
    route: RouteRequest
    prompt: tuple[PromptRef, ...]


class Route(StepType[RouteConfig]):
    keys = frozenset({"type", "queue", "class", "prompt"})
    prompt_keys = ("prompt",)
    shape = f"shape=doubleoctagon, {TERMINAL}"
    schema = StepSchema(
        "End the menu: the caller waits in a queue for an operator.",
        {"queue": QUEUE, "class": CLASS, "prompt": prompt("Said before queueing.")},
        ("queue", "class"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[RouteConfig]:
        queue, caller_class = name_of(spec, "queue"), name_of(spec, "class")
        said = read_prompts(spec, self.prompt_keys)
        refs = [Ref("queue", queue, ("queue",)), Ref("class", caller_class, ("class",))]
        config = RouteConfig(RouteRequest(queue, caller_class), said["prompt"])
        return Checked(config, refs=refs + said.refs, prompts=said.every, exits=True)

    def detail(self, config: RouteConfig) -> list[str]:
        return [f"queue {config.route.queue}", f"class {config.route.caller_class}"]

    async def run(self, node_id: str, config: RouteConfig, ctx: StepContext) -> StepResult:
        await play(ctx, config.prompt)
        return StepResult(route=config.route)

"""hangup: say goodbye (optional prompt) and end the call in the menu."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.prompts import PromptRef
from ivr.flow.steps.base import Checked, StepResult, StepType, play, read_prompts
from ivr.flow.steps.drawing import TERMINAL, shown
from ivr.flow.steps.schema_parts import StepSchema, prompt


@dataclass(frozen=True)
class HangupConfig:
    prompt: tuple[PromptRef, ...]


class Hangup(StepType[HangupConfig]):
    keys = frozenset({"type", "prompt"})
    prompt_keys = ("prompt",)
    shape = f"shape=octagon, {TERMINAL}"
    schema = StepSchema("Say goodbye (optional prompt) and end the call.", {"prompt": prompt()})

    def check(self, spec: Mapping[str, Any]) -> Checked[HangupConfig]:
        said = read_prompts(spec, self.prompt_keys)
        return Checked(HangupConfig(said["prompt"]), refs=said.refs, prompts=said.every, exits=True)

    def detail(self, config: HangupConfig) -> list[str]:
        return [shown(config.prompt)]

    async def run(self, node_id: str, config: HangupConfig, ctx: StepContext) -> StepResult:
        await play(ctx, config.prompt)
        ctx.path.append(f"{node_id}:hangup")
        return StepResult(hangup=True)

"""language: the caller picks the language of the prompts that follow (one key each)."""

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
from ivr.flow.steps.base import Checked, Ref, StepResult, StepType, read_prompts, targets_of
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.schema_parts import StepSchema, node, options, text


@dataclass(frozen=True)
class LanguageConfig:
    asking: Asking
    options: Mapping[str, str]  # DTMF key -> language
    next: str


class Language(StepType[LanguageConfig]):
    keys = frozenset({"type", "options", "next"}) | ASKING_KEYS
    prompt_keys = ASKING_PROMPTS
    shape = "shape=box"
    schema = StepSchema(
        "The caller picks the language of the prompts that follow, one key each.",
        {
            **ASKING,
            "options": options(text("Language code (prompts.yaml languages)."), "Key -> language."),
            "next": node("The node after (also after no choice)."),
        },
        ("options", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[LanguageConfig]:
        said = read_prompts(spec, self.prompt_keys)
        asking = read_asking(spec, said)
        languages = dtmf_options(spec)
        refs = said.refs + [Ref("language", lang, ("options", k)) for k, lang in languages.items()]
        targets = targets_of(spec, "next", required=("next",))
        config = LanguageConfig(asking, languages, targets[("next",)])
        return Checked(config, targets, refs, said.every)

    def detail(self, config: LanguageConfig) -> list[str]:
        return [
            shown(config.asking.prompt),
            ", ".join(f"{k}={v}" for k, v in config.options.items()),
        ]

    async def run(self, node_id: str, config: LanguageConfig, ctx: StepContext) -> StepResult:
        languages = config.options
        digit, outcome = await ask_until_valid(ctx, config.asking, 1, languages.__contains__)
        if digit is not None:
            ctx.language = languages[digit]
        ctx.path.append(f"{node_id}:{digit or outcome}")
        return StepResult(next=config.next)

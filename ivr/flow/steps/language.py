"""language: the caller picks the language of the prompts that follow (one key each)."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    ASKING_KEYS,
    Checked,
    Ref,
    StepResult,
    ask_until_valid,
    check_asking,
    target_of,
    targets_of,
)
from ivr.flow.steps.menu import dtmf_options


class Language:
    keys = frozenset({"type", "options", "next"}) | ASKING_KEYS

    def check(self, spec: Mapping[str, Any]) -> Checked:
        refs = check_asking(spec)
        refs += [Ref("language", lang, ("options", k)) for k, lang in dtmf_options(spec).items()]
        return Checked(targets_of(spec, "next", required=("next",)), refs)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        options = dtmf_options(spec)
        digit, outcome = await ask_until_valid(ctx, spec, 1, options.__contains__)
        if digit is not None:
            ctx.language = options[digit]
        ctx.path.append(f"{node_id}:{digit or outcome}")
        return StepResult(next=target_of(spec, "next"))

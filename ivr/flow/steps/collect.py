"""collect: read digits into a variable (contract number, meter reading, phone number),
checked against a length range and an optional pattern; `#` ends an entry early."""

import re
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
    read_asking,
)
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    StepResult,
    StepType,
    name_of,
    number_of,
    read_prompts,
    targets_of,
    var_name,
    way_out,
)
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.schema_parts import StepSchema, node, number, text, var

MAX_DIGITS = 32
DIGITS = re.compile(r"[0-9]+")  # str.isdigit() would take "²" or "٣"


@dataclass(frozen=True)
class CollectConfig:
    var: str
    min_digits: int
    max_digits: int
    pattern: re.Pattern[str] | None  # compiled once, at load time
    asking: Asking
    next: str
    on_fail: str

    def valid(self, keys: str) -> bool:
        digits = keys.removesuffix("#")  # `#` ends a shorter entry
        return (
            self.min_digits <= len(digits) <= self.max_digits
            and DIGITS.fullmatch(digits) is not None
            and (self.pattern is None or self.pattern.fullmatch(digits) is not None)
        )


def _limits(spec: Mapping[str, Any]) -> tuple[int, int, re.Pattern[str] | None]:
    low = int(number_of(spec, "min_digits", 1, minimum=1, maximum=MAX_DIGITS, whole=True))
    high = int(number_of(spec, "max_digits", low, minimum=1, maximum=MAX_DIGITS, whole=True))
    if high < low or high > MAX_DIGITS:
        raise FlowSpecError(
            ("max_digits",), f"expected a whole number from min_digits to {MAX_DIGITS}"
        )
    pattern = spec.get("pattern")
    if pattern is None:
        return low, high, None
    try:
        return low, high, re.compile(str(pattern))
    except re.error as exc:
        raise FlowSpecError(("pattern",), f"not a regular expression: {exc}") from None


def _var(spec: Mapping[str, Any]) -> str:
    """The required variable; a missing one is "expected a name", like other names."""
    return str(var_name(spec, "var", default=name_of(spec, "var")))


class Collect(StepType[CollectConfig]):
    keys = (
        frozenset({"type", "var", "min_digits", "max_digits", "pattern", "next", "on_fail"})
        | ASKING_KEYS
    )
    prompt_keys = ASKING_PROMPTS
    shape = "shape=box, style=rounded"
    schema = StepSchema(
        "Read digits into a variable (contract, meter reading, phone); # ends early.",
        {
            **ASKING,
            "var": var("The variable that gets the digits."),
            "min_digits": number("Fewest digits accepted (default 1).", 1, MAX_DIGITS, whole=True),
            "max_digits": number(
                f"Most digits accepted (default min_digits, at most {MAX_DIGITS}).",
                1,
                MAX_DIGITS,
                whole=True,
            ),
            "pattern": text("A regular expression the digits must match, e.g. ^0[0-9]+$."),
            "next": node("The node after a valid entry."),
            "on_fail": node("Where to go when no valid entry came."),
        },
        ("var", "next", "on_fail"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[CollectConfig]:
        name = _var(spec)
        low, high, pattern = _limits(spec)
        said = read_prompts(spec, self.prompt_keys)
        asking = read_asking(spec, said)
        targets = targets_of(spec, "next", required=("next",))
        targets[("on_fail",)] = way_out(spec, "on_fail", "when no valid entry comes")
        config = CollectConfig(
            name, low, high, pattern, asking, targets[("next",)], targets[("on_fail",)]
        )
        return Checked(config, targets, said.refs, said.every)

    def detail(self, config: CollectConfig) -> list[str]:
        return [f"var {config.var}", shown(config.asking.prompt)]

    async def run(self, node_id: str, config: CollectConfig, ctx: StepContext) -> StepResult:
        keys, outcome = await ask_until_valid(ctx, config.asking, config.max_digits, config.valid)
        if keys is None:
            ctx.path.append(f"{node_id}:{outcome}")
            return StepResult(next=config.on_fail)
        ctx.vars[config.var] = keys.removesuffix("#")
        ctx.path.append(f"{node_id}:ok")
        return StepResult(next=config.next)

"""collect: read digits into a variable (contract number, meter reading, phone number),
checked against a length range and an optional pattern; `#` ends an entry early."""

import re
from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    ASKING_KEYS,
    Checked,
    FlowSpecError,
    StepResult,
    ask_until_valid,
    check_asking,
    name_of,
    number_of,
    target_of,
    targets_of,
    var_name,
    way_out,
)

MAX_DIGITS = 32
DIGITS = re.compile(r"[0-9]+")  # str.isdigit() would take "²" or "٣"


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


class Collect:
    keys = (
        frozenset({"type", "var", "min_digits", "max_digits", "pattern", "next", "on_fail"})
        | ASKING_KEYS
    )

    def check(self, spec: Mapping[str, Any]) -> Checked:
        _var(spec)
        _limits(spec)
        refs = check_asking(spec)
        targets = targets_of(spec, "next", required=("next",))
        targets[("on_fail",)] = way_out(spec, "on_fail", "when no valid entry comes")
        return Checked(targets, refs)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        low, high, pattern = _limits(spec)

        def valid(keys: str) -> bool:
            digits = keys.removesuffix("#")  # `#` ends a shorter entry
            return (
                low <= len(digits) <= high
                and DIGITS.fullmatch(digits) is not None
                and (pattern is None or pattern.fullmatch(digits) is not None)
            )

        keys, outcome = await ask_until_valid(ctx, spec, high, valid)
        if keys is None:
            ctx.path.append(f"{node_id}:{outcome}")
            return StepResult(next=target_of(spec, "on_fail", required=False))
        ctx.vars[_var(spec)] = keys.removesuffix("#")
        ctx.path.append(f"{node_id}:ok")
        return StepResult(next=target_of(spec, "next"))

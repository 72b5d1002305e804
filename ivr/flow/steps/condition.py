"""condition: the first case whose tests all hold decides the next node, else `else`.

Tests: open (a calendar schedule), time ("22:00-08:00"), days ("mon-fri"), holiday (bool),
caller (known/new: found in the subscriber store by his number), sphere (the line's),
city (the line's), language, outage (bool: an outage in the caller's area), var ({name: value
or [values]}; "" matches an unset variable).
"""

from collections.abc import Mapping
from typing import Any

from ivr.flow.calendar import parse_days, parse_range
from ivr.flow.context import StepContext
from ivr.flow.model import Sphere
from ivr.flow.steps.base import Checked, FlowSpecError, KeyPath, Ref, StepResult, target_of
from ivr.flow.steps.identify import remember
from ivr.flow.steps.outage import find_outage

TESTS = frozenset(
    {"open", "time", "days", "holiday", "caller", "sphere", "city", "language", "outage", "var"}
)


def _cases(spec: Mapping[str, Any]) -> list[tuple[dict[str, Any], str]]:
    cases = spec.get("cases")
    if not isinstance(cases, list) or not cases:
        raise FlowSpecError(("cases",), "expected a list of {if: tests, then: node}")
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or set(case) != {"if", "then"}:
            raise FlowSpecError(("cases", i), "expected {if: tests, then: node}")
        tests = case["if"]
        if not isinstance(tests, dict) or not tests:
            raise FlowSpecError(
                ("cases", i, "if"), f"expected a mapping of tests ({', '.join(sorted(TESTS))})"
            )
        for name, value in tests.items():
            _check_test(str(name), value, ("cases", i, "if", str(name)))
        if not isinstance(case["then"], str) or not case["then"]:
            raise FlowSpecError(("cases", i, "then"), "expected a node id")
        out.append((tests, case["then"]))
    return out


def _check_test(name: str, value: Any, where: KeyPath) -> None:
    def fail(expected: str) -> FlowSpecError:
        return FlowSpecError(where, f"expected {expected}")

    if name not in TESTS:
        raise FlowSpecError(
            where, f"unknown test (expected: {', '.join(sorted(TESTS))})", at_key=True
        )
    try:
        if name == "time":
            parse_range(value)
        elif name == "days":
            parse_days(str(value))
    except ValueError as exc:
        raise FlowSpecError(where, str(exc)) from None
    if name in ("holiday", "outage") and not isinstance(value, bool):
        raise fail("true or false")
    if name == "caller" and value not in ("known", "new"):
        raise fail("known or new")
    if name == "sphere" and value not in [s.value for s in Sphere]:
        raise fail(f"one of {[s.value for s in Sphere]}")
    if name in ("open", "city", "language") and (not isinstance(value, str) or not value):
        raise fail("a name")
    if name == "var" and not (
        isinstance(value, dict)
        and value
        and all(isinstance(v, str | int | list) and not isinstance(v, bool) for v in value.values())
    ):
        raise fail("{variable: value or [values]}")


def _refs(cases: list[tuple[dict[str, Any], str]]) -> list[Ref]:
    refs = []
    for i, (tests, _) in enumerate(cases):
        if "open" in tests:
            refs.append(Ref("schedule", tests["open"], ("cases", i, "if", "open")))
        if "language" in tests:
            refs.append(Ref("language", tests["language"], ("cases", i, "if", "language")))
    return refs


async def _holds(name: str, value: Any, ctx: StepContext) -> bool:
    calendar, now, line = ctx.library.calendar, ctx.now(), ctx.call.line
    match name:
        case "open":
            return calendar.is_open(str(value), now)
        case "time":
            local = calendar.local(now)
            rng, minute = parse_range(value), local.hour * 60 + local.minute
            return rng.covers(minute, after_midnight=False) or rng.covers(
                minute, after_midnight=True
            )
        case "days":
            return calendar.local(now).weekday() in parse_days(str(value))
        case "holiday":
            return calendar.is_holiday(now) is value
        case "caller":
            if ctx.subscriber is None and ctx.call.caller:
                found = await ctx.directory.subscriber_by_phone(ctx.call.caller)
                if found:
                    remember(ctx, found)
            return (ctx.subscriber is not None) is (value == "known")
        case "sphere":
            return line is not None and line.sphere.value == value
        case "city":
            return line is not None and line.city.casefold() == str(value).casefold()
        case "language":
            return bool(ctx.language == value)
        case "outage":
            return (await find_outage(ctx, "") is not None) is value
        case _:
            return all(
                ctx.vars.get(str(k), "")
                in ([str(x) for x in v] if isinstance(v, list) else [str(v)])
                for k, v in value.items()
            )


async def _all_hold(tests: Mapping[str, Any], ctx: StepContext) -> bool:
    """Tests in order, stopping at the first that fails (a store lookup only when needed)."""
    for name, value in tests.items():
        if not await _holds(str(name), value, ctx):
            return False
    return True


class Condition:
    keys = frozenset({"type", "cases", "else"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        cases = _cases(spec)
        targets: dict[KeyPath, str] = {
            ("cases", i, "then"): then for i, (_, then) in enumerate(cases)
        }
        targets[("else",)] = str(target_of(spec, "else"))
        return Checked(targets, _refs(cases))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        for i, (tests, then) in enumerate(_cases(spec)):
            if await _all_hold(tests, ctx):
                ctx.path.append(f"{node_id}:{i + 1}")
                return StepResult(next=then)
        ctx.path.append(f"{node_id}:else")
        return StepResult(next=target_of(spec, "else"))

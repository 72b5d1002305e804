"""condition: the first case whose tests all hold decides the next node, else `else`.

Tests: open (a calendar schedule), time ("22:00-08:00"), days ("mon-fri"), holiday (bool),
caller (known/new: found in the subscriber store by his number), sphere (the line's),
city (the line's), language, outage (bool: an outage in the caller's area), var ({name: value
or [values]}; "" matches an unset variable). Each test is read once, at load time, into a
function of the call.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.calendar import TimeRange, parse_days, parse_range
from ivr.flow.context import StepContext
from ivr.flow.model import Sphere
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    KeyPath,
    Ref,
    StepResult,
    StepType,
    target_of,
)
from ivr.flow.steps.drawing import short, value_text
from ivr.flow.steps.identify import remember
from ivr.flow.steps.outage import find_outage
from ivr.flow.steps.schema_parts import (
    DAYS_PATTERN,
    DAYS_TEXT,
    TIME_RANGE,
    YES_NO,
    Schema,
    StepSchema,
    matching,
    node,
    ref,
    text,
)

Holds = Callable[[StepContext], Awaitable[bool]]  # a test, read: whether it holds for a call

TEST_SCHEMAS: Mapping[str, Schema] = {
    "open": text("A schedule in calendar.yaml: holds while it is open."),
    "time": TIME_RANGE,
    "days": matching(DAYS_PATTERN, f"Expected d{DAYS_TEXT[1:]}", DAYS_TEXT),
    "holiday": {**YES_NO, "description": "Whether today is a holiday in calendar.yaml."},
    "caller": {"enum": ["known", "new"], "description": "known: found among subscribers."},
    "sphere": {"enum": [s.value for s in Sphere], "description": "The dialled line's sphere."},
    "city": text("The dialled line's city."),
    "language": text("The caller's language (prompts.yaml languages)."),
    "outage": {**YES_NO, "description": "Whether there is an outage in the caller's area."},
    "var": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"type": ["string", "integer", "array"]},
        "description": 'Variable -> value or [values]; "" matches an unset variable.',
    },
}
TESTS = frozenset(TEST_SCHEMAS)


@dataclass(frozen=True)
class Case:
    tests: Mapping[str, Any]  # as written: the graph says them on the case's arrow
    holds: tuple[Holds, ...]  # the tests, read, in order
    then: str


@dataclass(frozen=True)
class ConditionConfig:
    cases: tuple[Case, ...]
    otherwise: str  # `else`


def _wrong(name: str, value: Any) -> str | None:
    """What a test's value should be, when it is not."""
    if name in ("holiday", "outage") and not isinstance(value, bool):
        return "true or false"
    if name == "caller" and value not in ("known", "new"):
        return "known or new"
    if name == "sphere" and value not in [s.value for s in Sphere]:
        return f"one of {[s.value for s in Sphere]}"
    if name in ("open", "city", "language") and (not isinstance(value, str) or not value):
        return "a name"
    if name == "var" and not (
        isinstance(value, dict)
        and value
        and all(isinstance(v, str | int | list) and not isinstance(v, bool) for v in value.values())
    ):
        return "{variable: value or [values]}"
    return None


def _read_test(name: str, value: Any, where: KeyPath) -> Holds:
    if name not in TESTS:
        raise FlowSpecError(
            where, f"unknown test (expected: {', '.join(sorted(TESTS))})", at_key=True
        )
    try:
        if name == "time":
            return _time(parse_range(value))
        if name == "days":
            return _days(frozenset(parse_days(str(value))))
    except ValueError as exc:
        raise FlowSpecError(where, str(exc)) from None
    wrong = _wrong(name, value)
    if wrong:
        raise FlowSpecError(where, f"expected {wrong}")
    return _READERS[name](value)


def _time(hours: TimeRange) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        local = ctx.library.calendar.local(ctx.now())
        minute = local.hour * 60 + local.minute
        return hours.covers(minute, after_midnight=False) or hours.covers(
            minute, after_midnight=True
        )

    return holds


def _days(days: frozenset[int]) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        return ctx.library.calendar.local(ctx.now()).weekday() in days

    return holds


def _open(schedule: str) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        return ctx.library.calendar.is_open(schedule, ctx.now())

    return holds


def _holiday(wanted: bool) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        return ctx.library.calendar.is_holiday(ctx.now()) is wanted

    return holds


def _caller(known: str) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        if ctx.subscriber is None and ctx.call.caller:
            found = await ctx.directory.subscriber_by_phone(ctx.call.caller)
            if found:
                remember(ctx, found)
        return (ctx.subscriber is not None) is (known == "known")

    return holds


def _sphere(sphere: str) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        line = ctx.call.line
        return line is not None and line.sphere.value == sphere

    return holds


def _city(city: str) -> Holds:
    folded = city.casefold()

    async def holds(ctx: StepContext) -> bool:
        line = ctx.call.line
        return line is not None and line.city.casefold() == folded

    return holds


def _language(language: str) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        return ctx.language == language

    return holds


def _outage(wanted: bool) -> Holds:
    async def holds(ctx: StepContext) -> bool:
        return (await find_outage(ctx, "") is not None) is wanted

    return holds


def _var(values: Mapping[Any, Any]) -> Holds:
    wanted = [
        (str(k), [str(x) for x in v] if isinstance(v, list) else [str(v)])
        for k, v in values.items()
    ]

    async def holds(ctx: StepContext) -> bool:
        return all(ctx.vars.get(name, "") in allowed for name, allowed in wanted)

    return holds


_READERS: Mapping[str, Callable[[Any], Holds]] = {
    "open": _open,
    "holiday": _holiday,
    "caller": _caller,
    "sphere": _sphere,
    "city": _city,
    "language": _language,
    "outage": _outage,
    "var": _var,
}


def _cases(spec: Mapping[str, Any]) -> tuple[Case, ...]:
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
        holds = tuple(
            _read_test(str(name), value, ("cases", i, "if", str(name)))
            for name, value in tests.items()
        )
        if not isinstance(case["then"], str) or not case["then"]:
            raise FlowSpecError(("cases", i, "then"), "expected a node id")
        out.append(Case(tests, holds, case["then"]))
    return tuple(out)


def _refs(cases: tuple[Case, ...]) -> list[Ref]:
    refs = []
    for i, case in enumerate(cases):
        if "open" in case.tests:
            refs.append(Ref("schedule", case.tests["open"], ("cases", i, "if", "open")))
        if "language" in case.tests:
            refs.append(Ref("language", case.tests["language"], ("cases", i, "if", "language")))
    return refs


async def _all_hold(case: Case, ctx: StepContext) -> bool:
    """Tests in order, stopping at the first that fails (a store lookup only when needed)."""
    for holds in case.holds:
        if not await holds(ctx):
            return False
    return True


class Condition(StepType[ConditionConfig]):
    keys = frozenset({"type", "cases", "else"})
    shape = "shape=diamond"
    schema = StepSchema(
        "The first case whose tests all hold decides the next node, else `else`.",
        {
            "cases": {
                "type": "array",
                "minItems": 1,
                "items": ref("case"),
                "description": "Checked in order: {if: {tests}, then: node}.",
            },
            "else": node("Where to go when no case holds."),
        },
        ("cases", "else"),
        defs={
            "case": {
                "type": "object",
                "properties": {
                    "if": ref("tests"),
                    "then": node("Where to go when all tests hold."),
                },
                "required": ["if", "then"],
                "additionalProperties": False,
            },
            "tests": {
                "type": "object",
                "minProperties": 1,
                "properties": dict(TEST_SCHEMAS),
                "additionalProperties": False,
                "description": "Tests that must all hold.",
            },
        },
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[ConditionConfig]:
        cases = _cases(spec)
        targets: dict[KeyPath, str] = {
            ("cases", i, "then"): case.then for i, case in enumerate(cases)
        }
        otherwise = str(target_of(spec, "else"))
        targets[("else",)] = otherwise
        return Checked(ConditionConfig(cases, otherwise), targets, _refs(cases))

    def detail(self, config: ConditionConfig) -> list[str]:
        names: list[str] = []
        for case in config.cases:
            names += [str(t) for t in case.tests if str(t) not in names]
        return [", ".join(names)]

    def edge_label(self, config: ConditionConfig, path: KeyPath) -> str:
        if path[0] == "cases" and len(path) == 3:
            tests = config.cases[int(path[1])].tests
            return ", ".join(f"{name}: {short(value_text(v))}" for name, v in tests.items())
        return super().edge_label(config, path)

    async def run(self, node_id: str, config: ConditionConfig, ctx: StepContext) -> StepResult:
        for i, case in enumerate(config.cases):
            if await _all_hold(case, ctx):
                ctx.path.append(f"{node_id}:{i + 1}")
                return StepResult(next=case.then)
        ctx.path.append(f"{node_id}:else")
        return StepResult(next=config.otherwise)

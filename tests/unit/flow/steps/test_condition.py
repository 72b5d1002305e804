"""condition: the first case whose tests all hold picks the next node, else `else`."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES
from ivr.subscribers import Outage

from .conftest import CALLER, EN_LINE, END, IVAN, RU_LINE, UNKNOWN_NUMBER, Env

KYIV = ZoneInfo("Europe/Kyiv")


def kyiv(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A UTC instant given as Kyiv wall time in 2026 (Nov 24 is a Tuesday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=KYIV).astimezone(UTC)


def condition(*cases: dict[str, Any]) -> dict[str, Any]:
    node = {
        "type": "condition",
        "cases": [{"if": tests, "then": f"case{i + 1}"} for i, tests in enumerate(cases)],
        "else": "other",
    }
    return {"c": node, **{f"case{i + 1}": END for i in range(len(cases))}, "other": END}


async def holds(env: Env, tests: dict[str, Any], **call: Any) -> bool:
    result = await env.run(condition(tests), **call)
    return result.ended_at == "case1"


# --- open: a calendar schedule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "schedule", "expected"),
    [
        (kyiv(24, 12), "operators", True),  # Tuesday noon
        (kyiv(24, 7, 59), "operators", False),
        (kyiv(24, 8), "operators", True),
        (kyiv(24, 21, 59), "operators", True),
        (kyiv(24, 22), "operators", False),
        (kyiv(28, 12), "operators", True),  # Saturday
        (kyiv(29, 12), "operators", False),  # Sunday
        (kyiv(25, 12, month=12), "operators", False),  # Christmas (a Friday): holiday
        (kyiv(25, 12, month=12), "meters", True),  # holidays: open
        (kyiv(29, 3), "meters", True),  # 24 hours a day
        (kyiv(24, 23), "night", True),  # overnight, before midnight
        (kyiv(25, 3), "night", True),  # overnight, after midnight
        (kyiv(25, 12), "night", False),
    ],
)
async def test_open(env: Env, at: datetime, schedule: str, expected: bool) -> None:
    env.clock.at = at
    assert await holds(env, {"open": schedule}) is expected


async def test_open_uses_the_calendars_time_zone(env: Env) -> None:
    env.clock.at = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)  # Monday 07:30 in Kyiv
    assert not await holds(env, {"open": "operators"})
    env.clock.at = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday 08:00 in Kyiv
    assert await holds(env, {"open": "operators"})


# --- time, days, holiday -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (kyiv(24, 22), True),
        (kyiv(24, 23, 30), True),  # before midnight
        (kyiv(25, 0), True),
        (kyiv(25, 2), True),  # after midnight
        (kyiv(25, 7, 59), True),
        (kyiv(25, 8), False),
        (kyiv(25, 12), False),
        (kyiv(25, 21, 59), False),
    ],
)
async def test_overnight_time_range(env: Env, at: datetime, expected: bool) -> None:
    env.clock.at = at
    assert await holds(env, {"time": "22:00-08:00"}) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 11, 24, 5, 59, tzinfo=UTC), False),  # 07:59 in Kyiv
        (datetime(2026, 11, 24, 6, 0, tzinfo=UTC), True),  # 08:00 in Kyiv
        (datetime(2026, 11, 24, 19, 59, tzinfo=UTC), True),
        (datetime(2026, 11, 24, 20, 0, tzinfo=UTC), False),  # 22:00 in Kyiv, 20:00 UTC
    ],
)
async def test_time_range_is_local_time(env: Env, at: datetime, expected: bool) -> None:
    env.clock.at = at
    assert await holds(env, {"time": "08:00-22:00"}) is expected


@pytest.mark.parametrize(
    ("at", "days", "expected"),
    [
        (kyiv(24, 12), "mon-fri", True),  # Tuesday
        (kyiv(28, 12), "mon-fri", False),  # Saturday
        (kyiv(28, 12), "weekends", True),
        (kyiv(23, 12), "sat-mon", True),  # Monday, range wraps around the week
        (kyiv(24, 12), "sat-mon", False),
        (kyiv(24, 12), "tue", True),
        (kyiv(24, 12), "mon,wed", False),
        (datetime(2026, 11, 23, 23, 0, tzinfo=UTC), "tue", True),  # Tuesday 01:00 in Kyiv
    ],
)
async def test_days(env: Env, at: datetime, days: str, expected: bool) -> None:
    env.clock.at = at
    assert await holds(env, {"days": days}) is expected


@pytest.mark.parametrize(
    ("at", "value", "expected"),
    [
        (kyiv(25, 12, month=12), True, True),
        (kyiv(25, 12, month=12), False, False),
        (kyiv(24, 12), True, False),
        (kyiv(24, 12), False, True),
        (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), True, True),  # Jan 1 00:30 in Kyiv
    ],
)
async def test_holiday(env: Env, at: datetime, value: bool, expected: bool) -> None:
    env.clock.at = at
    assert await holds(env, {"holiday": value}) is expected


# --- the caller: known or new (looked up lazily) -------------------------------------------


async def test_caller_known_looks_him_up_and_remembers_him(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(condition({"caller": "known"}))
    assert call.ended_at == "case1"
    assert call.ctx.subscriber == IVAN
    assert call.vars["contract"] == IVAN.contract
    assert env.directory.lookups == [("phone", CALLER)]


async def test_caller_new(env: Env) -> None:
    assert await holds(env, {"caller": "new"})
    assert not await holds(env, {"caller": "known"})


async def test_withheld_caller_is_new_without_a_lookup(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    assert await holds(env, {"caller": "new"}, caller="")
    assert env.directory.lookups == []


async def test_caller_is_looked_up_only_when_the_case_gets_that_far(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(condition({"sphere": "audit", "caller": "known"}, {"city": "Kyiv"}))
    assert call.ended_at == "case2"
    assert env.directory.lookups == []
    assert call.ctx.subscriber is None


async def test_an_identified_caller_is_not_looked_up_again(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    flow = {
        "i": {"type": "identify", "found": "c", "not_found": "c"},
        **condition({"caller": "new"}, {"caller": "known"}),
    }
    call = await env.run(flow)
    assert call.ended_at == "case2"
    assert env.directory.lookups == [("phone", CALLER)]


# --- the line: sphere, city; the language --------------------------------------------------


@pytest.mark.parametrize(
    ("number", "sphere", "expected"),
    [
        ("5551000", "service", True),
        ("5551000", "connections", False),
        (EN_LINE.number, "connections", True),
        (RU_LINE.number, "audit", True),
        (UNKNOWN_NUMBER, "service", False),  # no line: no sphere
    ],
)
async def test_sphere(env: Env, number: str, sphere: str, expected: bool) -> None:
    assert await holds(env, {"sphere": sphere}, number=number) is expected


@pytest.mark.parametrize(
    ("number", "city", "expected"),
    [
        ("5551000", "Kyiv", True),
        ("5551000", "KYIV", True),  # case does not matter
        ("5551000", "Lviv", False),
        (UNKNOWN_NUMBER, "Kyiv", False),
    ],
)
async def test_city(env: Env, number: str, city: str, expected: bool) -> None:
    assert await holds(env, {"city": city}, number=number) is expected


async def test_language(env: Env) -> None:
    assert await holds(env, {"language": "en"}, number=EN_LINE.number)
    assert not await holds(env, {"language": "en"}, number=RU_LINE.number)
    assert await holds(env, {"language": "uk"})  # line without a language: the default


async def test_language_follows_the_callers_choice(env: Env) -> None:
    flow = {
        "l": {"type": "language", "prompt": "ask", "options": {"1": "uk", "2": "ru"}, "next": "c"},
        **condition({"language": "ru"}),
    }
    assert (await env.run(flow, "2")).ended_at == "case1"


# --- outage ------------------------------------------------------------------------------


async def test_outage_in_the_callers_area(env: Env) -> None:
    env.directory.outages.append(Outage(1, "kyiv", "", "Fibre cut", None))
    call = await env.run(condition({"outage": True}))
    assert call.ended_at == "case1"
    assert call.vars["outage_message"] == "Fibre cut"
    assert env.directory.lookups == [("outage", "Kyiv/")]  # the line's city, any service


async def test_outage_false_and_other_areas(env: Env) -> None:
    env.directory.outages.append(Outage(1, "Lviv", "", "Storm", None))
    assert await holds(env, {"outage": False})
    assert not await holds(env, {"outage": True})


# --- var ---------------------------------------------------------------------------------


def with_vars(values: dict[str, Any], tests: dict[str, Any]) -> dict[str, Any]:
    flow = condition({"var": tests})
    return {"s": {"type": "set", "vars": values, "next": "c"}, **flow} if values else flow


@pytest.mark.parametrize(
    ("values", "tests", "expected"),
    [
        ({"problem": "no_answer"}, {"problem": "no_answer"}, True),
        ({"problem": "no_answer"}, {"problem": "other"}, False),
        ({"problem": "ivr_sound"}, {"problem": ["no_answer", "ivr_sound"]}, True),
        ({"problem": "other"}, {"problem": ["no_answer", "ivr_sound"]}, False),
        ({}, {"problem": ""}, True),  # "" matches an unset variable
        ({"problem": "x"}, {"problem": ""}, False),
        ({}, {"problem": ["", "other"]}, True),
        ({"count": 3}, {"count": 3}, True),  # numbers compare as text
        ({"count": "3"}, {"count": [1, 2, 3]}, True),
        ({"a": "1", "b": "2"}, {"a": "1", "b": "2"}, True),
        ({"a": "1", "b": "3"}, {"a": "1", "b": "2"}, False),  # every variable must match
    ],
)
async def test_var(env: Env, values: dict[str, Any], tests: dict[str, Any], expected: bool) -> None:
    call = await env.run(with_vars(values, tests))
    assert (call.ended_at == "case1") is expected


# --- cases -------------------------------------------------------------------------------


async def test_the_first_matching_case_wins(env: Env) -> None:
    call = await env.run(condition({"city": "Lviv"}, {"city": "Kyiv"}, {"sphere": "service"}))
    assert call.path == ["c:2", "case2:hangup"]


async def test_every_test_of_a_case_must_hold(env: Env) -> None:
    call = await env.run(
        condition({"city": "Kyiv", "sphere": "audit"}, {"city": "Kyiv", "sphere": "service"})
    )
    assert call.path[0] == "c:2"


async def test_else_when_no_case_holds(env: Env) -> None:
    call = await env.run(condition({"city": "Lviv"}, {"language": "en"}))
    assert call.path == ["c:else", "other:hangup"]


# --- check -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tests", "key", "message"),
    [
        ({"time": "25:00-08:00"}, ("time",), "'25:00' is not a time of day (00:00-24:00)"),
        ({"time": "08:00-08:60"}, ("time",), "'08:60' is not a time of day (00:00-24:00)"),
        ({"time": "8-22"}, ("time",), "'8' is not a time (HH:MM)"),
        ({"time": "08:00"}, ("time",), "'08:00': expected a range like 08:00-22:00"),
        ({"time": "08:00-08:00"}, ("time",), "'08:00-08:00' is an empty range"),
        ({"days": "mon-fry"}, ("days",), "'mon-fry': expected days like mon-sat, sat,sun or daily"),
        ({"holiday": "yes"}, ("holiday",), "expected true or false"),
        ({"outage": 1}, ("outage",), "expected true or false"),
        ({"caller": "vip"}, ("caller",), "expected known or new"),
        (
            {"sphere": "sales"},
            ("sphere",),
            "expected one of ['connections', 'audit', 'service']",
        ),
        ({"open": ""}, ("open",), "expected a name"),
        ({"city": 5}, ("city",), "expected a name"),
        ({"var": {"x": True}}, ("var",), "expected {variable: value or [values]}"),
        ({"var": {}}, ("var",), "expected {variable: value or [values]}"),
    ],
)
def test_check_rejects_a_bad_test(tests: dict[str, Any], key: tuple[str], message: str) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["condition"].check(condition(tests)["c"])
    assert (info.value.key, info.value.message) == (("cases", 0, "if", *key), message)


def test_check_rejects_an_unknown_test_at_its_key() -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["condition"].check(condition({"weather": "rain"})["c"])
    assert info.value.key == ("cases", 0, "if", "weather")
    assert info.value.at_key
    assert info.value.message.startswith("unknown test (expected: caller, city, days, ")


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"cases": []}, ("cases",), "expected a list of {if: tests, then: node}"),
        ({"cases": [{"if": {"city": "Kyiv"}}]}, ("cases", 0), "expected {if: tests, then: node}"),
        ({"cases": [{"if": {}, "then": "a"}]}, ("cases", 0, "if"), "expected a mapping of tests"),
        ({"cases": [{"if": {"city": "Kyiv"}, "then": 1}]}, ("cases", 0, "then"), "expected a node"),
        ({"cases": [{"if": {"city": "Kyiv"}, "then": "a"}]}, ("else",), "expected a node id"),
    ],
)
def test_check_rejects_bad_cases(
    spec: dict[str, Any], key: tuple[object, ...], message: str
) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["condition"].check({"type": "condition", **spec})
    assert info.value.key == key
    assert info.value.message.startswith(message)


def test_check_refers_to_schedules_and_languages() -> None:
    checked = STEP_TYPES["condition"].check(
        condition({"open": "operators"}, {"language": "ru", "city": "Kyiv"})["c"]
    )
    assert [(r.kind, r.name, r.key) for r in checked.refs] == [
        ("schedule", "operators", ("cases", 0, "if", "open")),
        ("language", "ru", ("cases", 1, "if", "language")),
    ]
    assert checked.targets == {
        ("cases", 0, "then"): "case1",
        ("cases", 1, "then"): "case2",
        ("else",): "other",
    }

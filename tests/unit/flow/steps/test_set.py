"""set: variables get values, text with {placeholders} filled from the call."""

from typing import Any

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import CALLER, END, UNKNOWN_NUMBER, Env


def set_vars(values: dict[Any, Any], *more: dict[str, Any]) -> dict[str, Any]:
    nodes: dict[str, Any] = {"s": {"type": "set", "vars": values, "next": "n1" if more else "e"}}
    for i, extra in enumerate(more, start=1):
        nxt = f"n{i + 1}" if i < len(more) else "e"
        nodes[f"n{i}"] = {"type": "set", "vars": extra, "next": nxt}
    return {**nodes, "e": END}


async def test_sets_text_and_numbers(env: Env) -> None:
    call = await env.run(set_vars({"published": "unknown", "count": 3, "ratio": 1.5}))
    assert call.vars == {"published": "unknown", "count": "3", "ratio": "1.5"}
    assert call.ended_at == "e"


async def test_placeholders_take_the_calls_facts(env: Env) -> None:
    call = await env.run(set_vars({"who": "{caller}", "where": "{line} ({city})"}))
    assert call.vars == {"who": CALLER, "where": "5551000 (Kyiv)"}


async def test_placeholders_take_earlier_variables(env: Env) -> None:
    call = await env.run(set_vars({"a": "1"}, {"b": "{a}-{a}"}, {"a": "{b}!"}))
    assert call.vars == {"a": "1-1!", "b": "1-1"}


async def test_unset_placeholders_are_empty(env: Env) -> None:
    call = await env.run(set_vars({"x": "[{nothing}]", "y": "{city}"}), number=UNKNOWN_NUMBER)
    assert call.vars == {"x": "[]", "y": ""}


async def test_double_braces_are_literal(env: Env) -> None:
    call = await env.run(set_vars({"x": "{{caller}}"}))
    assert call.vars == {"x": "{caller}"}


async def test_set_overwrites(env: Env) -> None:
    call = await env.run(set_vars({"x": "1"}, {"x": "2"}))
    assert call.vars == {"x": "2"}


@pytest.mark.parametrize(
    ("values", "key", "message", "at_key"),
    [
        ({"x": "{"}, ("vars", "x"), "Single '{' encountered in format string", False),
        ({"x": "}"}, ("vars", "x"), "Single '}' encountered in format string", False),
        (
            {"x": "{a b}"},
            ("vars", "x"),
            "{a b} is not a variable name (write {{ }} for braces)",
            False,
        ),
        ({"x": "{0}"}, ("vars", "x"), "{0} is not a variable name (write {{ }} for braces)", False),
        (
            {"x": "{a:>3}"},
            ("vars", "x"),
            "{a:>3} is not a variable name (write {{ }} for braces)",
            False,
        ),
        ({"x": ["a"]}, ("vars", "x"), "expected text or a number", False),
        ({"x": True}, ("vars", "x"), "expected text or a number", False),
        ({"x": None}, ("vars", "x"), "expected text or a number", False),
        ({"my var": "a"}, ("vars", "my var"), "not a variable name", True),
        ({}, ("vars",), "expected a mapping of variable name to value", False),
    ],
)
def test_check_rejects(
    values: dict[str, Any], key: tuple[str, ...], message: str, at_key: bool
) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["set"].check({"type": "set", "vars": values, "next": "e"})
    assert (info.value.key, info.value.message, info.value.at_key) == (key, message, at_key)


def test_check_needs_next() -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["set"].check({"type": "set", "vars": {"x": "1"}})
    assert info.value.key == ("next",)

"""collect: digits into a variable, within a length range and an optional pattern."""

from typing import Any

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import END, Env


def collect(**spec: Any) -> dict[str, Any]:
    node = {
        "type": "collect",
        "prompt": "ask",
        "invalid_prompt": "invalid",
        "var": "contract",
        "min_digits": 4,
        "max_digits": 6,
        "retries": 0,
        "next": "done",
        "on_fail": "failed",
        **spec,
    }
    return {"c": node, "done": END, "failed": END}


@pytest.mark.parametrize("entry", ["1234", "12345", "123456"])
async def test_an_entry_within_the_limits_is_stored(env: Env, entry: str) -> None:
    call = await env.run(collect(), entry)
    assert call.vars == {"contract": entry}
    assert call.path == ["c:ok", "done:hangup"]
    assert call.heard == ["ask"]


async def test_asks_for_at_most_max_digits(env: Env) -> None:
    call = await env.run(collect(timeout=8), "1234")
    assert call.port.max_digits == [6]
    assert call.port.asked == [(("ask",), 8000)]


@pytest.mark.parametrize("entry", ["123", "1234567"])
async def test_too_short_or_too_long_is_invalid(env: Env, entry: str) -> None:
    call = await env.run(collect(), entry)
    assert call.path == ["c:invalid", "failed:hangup"]
    assert call.heard == ["ask", "invalid"]
    assert "contract" not in call.vars


async def test_hash_ends_a_shorter_entry(env: Env) -> None:
    call = await env.run(collect(), "12345#")
    assert call.vars == {"contract": "12345"}
    assert call.path[0] == "c:ok"


async def test_hash_terminated_entry_still_needs_min_digits(env: Env) -> None:
    call = await env.run(collect(), "123#")
    assert call.path[0] == "c:invalid"


async def test_hash_alone_is_not_an_entry(env: Env) -> None:
    call = await env.run(collect(), "#")
    assert call.path[0] == "c:invalid"


@pytest.mark.parametrize("entry", ["12*45", "12#45", "1234a", "١٢٣٤", "12²4", " 1234"])
async def test_non_digits_are_invalid(env: Env, entry: str) -> None:
    call = await env.run(collect(), entry)
    assert call.path[0] == "c:invalid"


async def test_max_digits_defaults_to_min_digits(env: Env) -> None:
    flow = collect(min_digits=8)
    del flow["c"]["max_digits"]
    assert (await env.run(flow, "12345678")).vars == {"contract": "12345678"}
    call = await env.run(flow, "123456789")
    assert call.path[0] == "c:invalid"
    assert call.port.max_digits == [8]


async def test_min_digits_defaults_to_one(env: Env) -> None:
    flow = collect()
    del flow["c"]["min_digits"]
    call = await env.run(flow, "7")
    assert call.vars == {"contract": "7"}


@pytest.mark.parametrize(("entry", "ok"), [("0441", True), ("1441", False), ("044", False)])
async def test_pattern_must_match_the_whole_entry(env: Env, entry: str, ok: bool) -> None:
    call = await env.run(collect(min_digits=3, pattern="0[0-9]{3}"), entry)
    assert call.path[0] == ("c:ok" if ok else "c:invalid")


async def test_pattern_is_not_a_search(env: Env) -> None:
    call = await env.run(collect(pattern="44"), "0441")
    assert call.path[0] == "c:invalid"


async def test_retries_then_a_valid_entry(env: Env) -> None:
    call = await env.run(collect(retries=2), "1", None, "987654")
    assert call.asks == 3
    assert call.heard == ["ask", "invalid", "ask", "ask"]
    assert call.vars == {"contract": "987654"}


async def test_silence_goes_to_on_fail(env: Env) -> None:
    call = await env.run(collect(retries=1))
    assert call.asks == 2
    assert call.path == ["c:timeout", "failed:hangup"]


def test_without_on_fail_the_node_is_refused() -> None:
    """A dead end: a caller with no valid entry would fall to the fallback at priority 0."""
    node = collect()["c"]
    del node["on_fail"]
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["collect"].check(node)
    assert info.value.key == ("on_fail",)
    assert info.value.message.startswith("missing: add `on_fail: <node id>`, where a caller goes")


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        (
            {"min_digits": 8, "max_digits": 4},
            ("max_digits",),
            "expected a whole number from min_digits to 32",
        ),
        ({"max_digits": 33}, ("max_digits",), "expected a whole number from 1 to 32"),
        ({"min_digits": 0}, ("min_digits",), "expected a whole number >= 1"),
        ({"min_digits": 2.5}, ("min_digits",), "expected a whole number >= 1"),
        ({"max_digits": "8"}, ("max_digits",), "expected a whole number >= 1"),
        ({"var": "2fast"}, ("var",), "expected a variable name (letters, digits, _)"),
        ({"var": None}, ("var",), "expected a name"),
        ({"next": None}, ("next",), "expected a node id"),
    ],
)
def test_check_rejects(spec: dict[str, Any], key: tuple[object, ...], message: str) -> None:
    node = {k: v for k, v in {**collect()["c"], **spec}.items() if v is not None}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["collect"].check(node)
    assert (info.value.key, info.value.message) == (key, message)


def test_check_rejects_a_bad_pattern() -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["collect"].check(collect(pattern="([0-9]")["c"])
    assert info.value.key == ("pattern",)
    assert info.value.message.startswith("not a regular expression: missing ), unterminated")

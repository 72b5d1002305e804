"""choose: a key picks a value for a variable; on_fail when the caller picks nothing."""

from typing import Any

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import END, Env


def choose(**spec: Any) -> dict[str, Any]:
    node = {
        "type": "choose",
        "prompt": "ask",
        "invalid_prompt": "invalid",
        "var": "published",
        "options": {1: "site", 2: "leaflet", "9": "advert"},
        "retries": 1,
        "next": "done",
        "on_fail": "failed",
        **spec,
    }
    return {"c": node, "done": END, "failed": END}


@pytest.mark.parametrize(("key", "value"), [("1", "site"), ("2", "leaflet"), ("9", "advert")])
async def test_the_key_sets_the_variable_then_next(env: Env, key: str, value: str) -> None:
    call = await env.run(choose(), key)
    assert call.vars == {"published": value}
    assert call.path == [f"c:{key}", "done:hangup"]
    assert call.port.max_digits == [1]


async def test_invalid_key_hears_invalid_prompt_and_is_asked_again(env: Env) -> None:
    call = await env.run(choose(), "5", "2")
    assert call.heard == ["ask", "invalid", "ask"]
    assert call.vars["published"] == "leaflet"


async def test_silence_goes_to_on_fail_without_setting_the_variable(env: Env) -> None:
    call = await env.run(choose(retries=2))
    assert call.asks == 3
    assert call.path == ["c:timeout", "failed:hangup"]
    assert "published" not in call.vars


async def test_invalid_keys_go_to_on_fail(env: Env) -> None:
    call = await env.run(choose(), "5", "6")
    assert call.path == ["c:invalid", "failed:hangup"]
    assert call.heard.count("invalid") == 2


def test_without_on_fail_the_node_is_refused() -> None:
    """A dead end: a caller who chooses nothing would fall to the fallback at priority 0."""
    node = choose()["c"]
    del node["on_fail"]
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["choose"].check(node)
    assert info.value.key == ("on_fail",)
    assert info.value.message.startswith("missing: add `on_fail: <node id>`, where a caller goes")


async def test_a_choice_overwrites_an_earlier_value(env: Env) -> None:
    flow = {
        "s": {"type": "set", "vars": {"published": "unknown"}, "next": "c"},
        **choose(),
    }
    call = await env.run(flow, "1")
    assert call.vars["published"] == "site"


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"var": None}, ("var",), "expected a variable name (letters, digits, _)"),
        ({"var": "where from"}, ("var",), "expected a variable name (letters, digits, _)"),
        ({"options": {"x": "a"}}, ("options", "x"), "not a DTMF key (0-9 * #)"),
        ({"next": None}, ("next",), "expected a node id"),
        ({"timeout": "soon"}, ("timeout",), "expected a number >= 0.5"),
    ],
)
def test_check_rejects(spec: dict[str, Any], key: tuple[object, ...], message: str) -> None:
    node = {k: v for k, v in {**choose()["c"], **spec}.items() if v is not None}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["choose"].check(node)
    assert (info.value.key, info.value.message) == (key, message)

"""menu: one DTMF key per option; retries after a timeout or an invalid key."""

from typing import Any

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import END, Env


def menu(**spec: Any) -> dict[str, Any]:
    node = {
        "type": "menu",
        "prompt": ["ask", "beep"],
        "invalid_prompt": "invalid",
        "options": {1: "one", "2": "two", "0": "zero", "*": "star", "#": "hash"},
        "on_timeout": "timed_out",
        "on_invalid": "wrong",
        **spec,
    }
    ends = ("one", "two", "zero", "star", "hash", "timed_out", "wrong")
    return {"m": node, **{end: END for end in ends}}


@pytest.mark.parametrize(
    ("key", "target"), [("1", "one"), ("2", "two"), ("0", "zero"), ("*", "star"), ("#", "hash")]
)
async def test_each_key_goes_to_its_option(env: Env, key: str, target: str) -> None:
    call = await env.run(menu(), key)
    assert call.ended_at == target
    assert call.path == [f"m:{key}", f"{target}:hangup"]
    assert call.heard == ["ask", "beep"]
    assert call.port.max_digits == [1]


async def test_asks_with_the_timeout_in_milliseconds(env: Env) -> None:
    call = await env.run(menu(timeout=2.5), "1")
    assert call.port.asked == [(("ask", "beep"), 2500)]


async def test_default_timeout_is_five_seconds(env: Env) -> None:
    call = await env.run(menu(), "1")
    assert call.port.asked[0][1] == 5000


@pytest.mark.parametrize(("retries", "asks"), [(0, 1), (1, 2), (3, 4)])
async def test_silence_asks_one_plus_retries_times_then_on_timeout(
    env: Env, retries: int, asks: int
) -> None:
    call = await env.run(menu(retries=retries))
    assert call.asks == asks
    assert call.ended_at == "timed_out"
    assert call.path[0] == "m:timeout"
    assert "invalid" not in call.heard  # silence is not an invalid key


async def test_default_retries_is_two(env: Env) -> None:
    call = await env.run(menu())
    assert call.asks == 3


async def test_invalid_keys_hear_invalid_prompt_then_on_invalid(env: Env) -> None:
    call = await env.run(menu(retries=1), "9", "12")
    assert call.heard == ["ask", "beep", "invalid", "ask", "beep", "invalid"]
    assert call.path == ["m:invalid", "wrong:hangup"]


async def test_a_valid_key_after_an_invalid_one_is_taken(env: Env) -> None:
    call = await env.run(menu(), "7", "2")
    assert call.heard == ["ask", "beep", "invalid", "ask", "beep"]
    assert call.path == ["m:2", "two:hangup"]


async def test_the_last_attempt_decides_timeout_or_invalid(env: Env) -> None:
    assert (await env.run(menu(retries=1), "9", None)).ended_at == "timed_out"
    assert (await env.run(menu(retries=1), None, "9")).ended_at == "wrong"


@pytest.mark.parametrize("exit_key", ["on_timeout", "on_invalid"])
def test_a_menu_without_a_way_out_is_refused(exit_key: str) -> None:
    """A dead end: a silent or fumbling caller would fall to the fallback at priority 0."""
    node = menu()["m"]
    del node[exit_key]
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["menu"].check(node)
    assert info.value.key == (exit_key,)
    assert info.value.message.startswith(f"missing: add `{exit_key}: <node id>`, where a caller")


async def test_menu_without_invalid_prompt_just_asks_again(env: Env) -> None:
    flow = menu()
    del flow["m"]["invalid_prompt"]
    call = await env.run(flow, "9", "1")
    assert call.heard == ["ask", "beep", "ask", "beep"]
    assert call.ended_at == "one"


@pytest.mark.parametrize(
    ("spec", "key", "message", "at_key"),
    [
        ({"options": {"1": "a", 1: "b"}}, ("options", "1"), "DTMF key 1 is listed twice", True),
        ({"options": {"A": "a"}}, ("options", "A"), "not a DTMF key (0-9 * #)", True),
        ({"options": {"12": "a"}}, ("options", "12"), "not a DTMF key (0-9 * #)", True),
        ({"options": {}}, ("options",), "expected a mapping of DTMF key to node id", False),
        ({"options": {"1": ""}}, ("options", "1"), "expected a name", False),
        ({"options": {"1": "a"}, "timeout": 0.2}, ("timeout",), "expected a number >= 0.5", False),
        (
            {"options": {"1": "a"}, "retries": 1.5},
            ("retries",),
            "expected a whole number >= 0",
            False,
        ),
        ({"options": {"1": "a"}, "retries": True}, ("retries",), "expected a whole number", False),
        ({"options": {"1": "a"}, "on_timeout": 3}, ("on_timeout",), "expected a node id", False),
    ],
)
def test_check_rejects(
    spec: dict[Any, Any], key: tuple[object, ...], message: str, at_key: bool
) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["menu"].check({"type": "menu", **spec})
    assert (info.value.key, info.value.at_key) == (key, at_key)
    assert info.value.message.startswith(message)


def test_check_lists_targets_by_key_and_prompt_refs() -> None:
    checked = STEP_TYPES["menu"].check(menu()["m"])
    assert checked.targets == {
        ("options", "1"): "one",
        ("options", "2"): "two",
        ("options", "0"): "zero",
        ("options", "*"): "star",
        ("options", "#"): "hash",
        ("on_timeout",): "timed_out",
        ("on_invalid",): "wrong",
    }
    assert sorted(r.name for r in checked.refs) == ["ask", "beep", "invalid"]
    assert not checked.exits

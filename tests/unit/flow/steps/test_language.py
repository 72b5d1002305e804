"""language: the caller picks the language of the prompts that follow."""

from typing import Any

import pytest

from ivr.flow.loader import FlowError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import END, RU_LINE, Env, build_library


def language(**spec: Any) -> dict[str, Any]:
    node = {
        "type": "language",
        "prompt": "ask",
        "invalid_prompt": "invalid",
        "options": {1: "uk", 2: "ru", 3: "en"},
        "retries": 1,
        "next": "after",
        **spec,
    }
    return {
        "l": node,
        "after": {"type": "play", "prompt": ["hello", "bye"], "next": "e"},
        "e": END,
    }


async def test_the_choice_changes_the_language_of_later_prompts(env: Env) -> None:
    call = await env.run(language(), "3")
    assert call.ctx.language == "en"
    assert call.heard == ["ask", "say[en]: Hello", "say[en]: Goodbye"]
    assert call.path == ["l:3", "e:hangup"]


async def test_a_prompt_missing_the_chosen_language_falls_back_to_the_default(
    env: Env,
) -> None:
    call = await env.run(language(), "2")
    assert call.ctx.language == "ru"
    assert call.heard[1:] == ["say[ru]: Привет", "say[uk]: До побачення"]


async def test_silence_keeps_the_language_and_goes_on(env: Env) -> None:
    call = await env.run(language(), number=RU_LINE.number)
    assert call.ctx.language == "ru"
    assert call.asks == 2
    assert call.path == ["l:timeout", "e:hangup"]


async def test_invalid_keys_keep_the_language_and_go_on(env: Env) -> None:
    call = await env.run(language(), "7", "8")
    assert call.ctx.language == "uk"
    assert call.path[0] == "l:invalid"
    assert call.heard[:4] == ["ask", "invalid", "ask", "invalid"]


async def test_invalid_then_valid(env: Env) -> None:
    call = await env.run(language(), "7", "3")
    assert call.ctx.language == "en"
    assert call.path[0] == "l:3"


def test_check_refers_to_the_languages() -> None:
    checked = STEP_TYPES["language"].check(language()["l"])
    langs = [(r.name, r.key) for r in checked.refs if r.kind == "language"]
    assert langs == [("uk", ("options", "1")), ("ru", ("options", "2")), ("en", ("options", "3"))]
    assert checked.targets == {("next",): "after"}


def test_an_unknown_language_is_rejected_by_the_loader() -> None:
    with pytest.raises(FlowError) as info:
        build_library(language(options={"1": "uk", "2": "de"}))
    assert info.value.errors == [
        "f.yaml: nodes.l.options.2: unknown language 'de' (not in prompts.yaml languages: "
        "en, ru, uk)"
    ]

"""play: prompts in the caller's language, then the next node."""

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import EN_LINE, END, RU_LINE, UNKNOWN_NUMBER, Env


async def test_plays_a_named_prompt_in_the_lines_language_then_goes_on(env: Env) -> None:
    call = await env.run(
        {"p": {"type": "play", "prompt": "hello", "next": "done"}, "done": END},
        number=EN_LINE.number,
    )
    assert call.heard == ["say[en]: Hello"]
    assert call.ended_at == "done"
    assert call.asks == 0


async def test_plays_a_list_of_prompts_in_order(env: Env) -> None:
    call = await env.run(
        {"p": {"type": "play", "prompt": ["beep", "hello", "beep"], "next": "e"}, "e": END}
    )
    assert call.heard == ["beep", "say[uk]: Привіт", "beep"]


async def test_unknown_number_hears_the_default_language(env: Env) -> None:
    call = await env.run(
        {"p": {"type": "play", "prompt": "hello", "next": "e"}, "e": END}, number=UNKNOWN_NUMBER
    )
    assert call.heard == ["say[uk]: Привіт"]


async def test_a_prompt_missing_the_callers_language_falls_back_to_the_default(
    env: Env,
) -> None:
    call = await env.run(
        {"p": {"type": "play", "prompt": ["hello", "bye"], "next": "e"}, "e": END},
        number=RU_LINE.number,
    )
    assert call.heard == ["say[ru]: Привет", "say[uk]: До побачення"]


async def test_inline_say_is_filled_from_the_call(env: Env) -> None:
    call = await env.run(
        {
            "p": {
                "type": "play",
                "prompt": {"say": "{caller} on {line} in {city}, {nothing}."},
                "next": "e",
            },
            "e": END,
        }
    )
    assert call.heard == ["say[uk]: 0441112233 on 5551000 in Kyiv, ."]


async def test_inline_say_by_language_and_inline_sound(env: Env) -> None:
    call = await env.run(
        {
            "p": {
                "type": "play",
                "prompt": [{"say": {"uk": "Так", "en": "Yes"}}, {"sound": "custom/jingle"}],
                "next": "e",
            },
            "e": END,
        },
        number=EN_LINE.number,
    )
    assert call.heard == ["say[en]: Yes", "custom/jingle"]


async def test_without_a_prompt_nothing_is_played(env: Env) -> None:
    call = await env.run({"p": {"type": "play", "next": "e"}, "e": END})
    assert call.heard == []
    assert call.ended_at == "e"


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"prompt": 5, "next": "e"}, ("prompt", 0), "expected a prompt name"),
        ({"prompt": ["beep", {"sing": "x"}], "next": "e"}, ("prompt", 1), "expected a prompt"),
        ({"prompt": {"say": "{"}, "next": "e"}, ("prompt", 0), "Single '{'"),
        ({"prompt": "beep"}, ("next",), "expected a node id"),
    ],
)
def test_check_rejects(spec: dict[str, object], key: tuple[object, ...], message: str) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["play"].check({"type": "play", **spec})
    assert info.value.key == key
    assert info.value.message.startswith(message)

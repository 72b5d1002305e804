"""route: end the menu and send the caller to a queue as a caller class."""

import pytest

from ivr.flow.steps.base import FlowSpecError, RouteRequest
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import EN_LINE, END, Env


async def test_route_ends_the_menu_with_the_queue_and_class(env: Env) -> None:
    call = await env.run(
        {
            "r": {"type": "route", "queue": "internet", "class": "existing_service"},
            "never": END,
        }
    )
    assert call.outcome is not None
    assert call.outcome.route == RouteRequest("internet", "existing_service")
    assert call.outcome.path == ()
    assert call.heard == []


async def test_route_plays_its_prompt_first(env: Env) -> None:
    call = await env.run(
        {
            "p": {"type": "play", "prompt": "beep", "next": "r"},
            "r": {
                "type": "route",
                "queue": "connections",
                "class": "new_connection",
                "prompt": ["hello", "beep"],
            },
        },
        number=EN_LINE.number,
    )
    assert call.heard == ["beep", "say[en]: Hello", "beep"]
    assert call.outcome is not None
    assert call.outcome.route == RouteRequest("connections", "new_connection")


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"class": "c"}, ("queue",)),
        ({"queue": "q"}, ("class",)),
        ({"queue": "", "class": "c"}, ("queue",)),
        ({"queue": "q", "class": 3}, ("class",)),
    ],
)
def test_check_needs_a_queue_and_a_class(spec: dict[str, object], key: tuple[str]) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["route"].check({"type": "route", **spec})
    assert (info.value.key, info.value.message) == (key, "expected a name")


def test_check_refers_to_queue_class_and_prompts() -> None:
    checked = STEP_TYPES["route"].check(
        {"type": "route", "queue": "q", "class": "c", "prompt": "connecting"}
    )
    assert [(r.kind, r.name) for r in checked.refs] == [
        ("queue", "q"),
        ("class", "c"),
        ("prompt", "connecting"),
    ]
    assert checked.exits

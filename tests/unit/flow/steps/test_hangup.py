"""hangup: an optional goodbye, then the call ends in the menu."""

from ivr.flow.steps.registry import STEP_TYPES

from .conftest import EN_LINE, Env


async def test_hangup_says_goodbye_and_ends_the_call(env: Env) -> None:
    call = await env.run(
        {
            "h": {"type": "hangup", "prompt": "bye"},
            "never": {"type": "play", "prompt": "beep", "next": "h"},
        },
        number=EN_LINE.number,
    )
    assert call.outcome is not None
    assert call.outcome.route is None
    assert call.outcome.path == ("h:hangup",)
    assert call.heard == ["say[en]: Goodbye"]


async def test_hangup_without_a_prompt_is_silent(env: Env) -> None:
    call = await env.run({"h": {"type": "hangup"}})
    assert call.heard == []
    assert call.ended_at == "h"


def test_hangup_exits_the_flow() -> None:
    checked = STEP_TYPES["hangup"].check({"type": "hangup", "prompt": ["bye", "beep"]})
    assert checked.exits
    assert [r.name for r in checked.refs] == ["bye", "beep"]
    assert checked.targets == {}

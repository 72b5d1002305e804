"""goto: another node, or the start of another flow (variables and language carry over)."""

import pytest

from ivr.flow.loader import FlowError
from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import CALLER, EN_LINE, END, IVAN, Env, build_library


async def test_goto_node(env: Env) -> None:
    call = await env.run(
        {
            "g": {"type": "goto", "node": "b"},
            "a": {"type": "play", "prompt": "beep", "next": "e"},
            "b": {"type": "play", "prompt": "hello", "next": "e"},
            "e": END,
        }
    )
    assert call.heard == ["say[uk]: Привіт"]
    assert call.path == ["e:hangup"]  # a jump inside the flow leaves no trace


async def test_goto_flow_carries_variables_language_and_subscriber(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    library = build_library(
        {
            "i": {"type": "identify", "found": "s", "not_found": "s"},
            "s": {"type": "set", "vars": {"topic": "tv"}, "next": "g"},
            "g": {"type": "goto", "flow": "other"},
        },
        flows={
            "other": {
                "start_here": {
                    "type": "play",
                    "prompt": [{"say": "{topic} {subscriber_name}"}, "hello"],
                    "next": "again",
                },
                "again": {"type": "identify", "found": "e", "not_found": "e"},
                "e": END,
            }
        },
    )
    call = await env.run(library, number=EN_LINE.number)
    assert call.ctx.flow == "other"
    assert call.ctx.language == "en"
    assert call.heard == ["say[uk]: tv Іван Петренко", "say[en]: Hello"]
    assert call.path == ["i:found", "g:other", "again:found", "e:hangup"]
    assert env.directory.lookups == [("phone", CALLER)]


async def test_goto_flow_starts_at_the_flows_start(env: Env) -> None:
    library = build_library(
        {"g": {"type": "goto", "flow": "other"}},
        flows={"other": {"first": {"type": "play", "prompt": "beep", "next": "e"}, "e": END}},
    )
    call = await env.run(library)
    assert call.heard == ["beep"]
    assert call.ended_at == "e"


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"node": "a", "flow": "b"}, ("type",), "a goto needs exactly one of node or flow"),
        ({}, ("type",), "a goto needs exactly one of node or flow"),
        ({"node": ""}, ("node",), "expected a node id"),
        ({"flow": ["b"]}, ("flow",), "expected a name"),
    ],
)
def test_check_rejects(spec: dict[str, object], key: tuple[str], message: str) -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["goto"].check({"type": "goto", **spec})
    assert (info.value.key, info.value.message) == (key, message)


def test_goto_flow_exits_the_flow_and_goto_node_does_not() -> None:
    assert STEP_TYPES["goto"].check({"type": "goto", "flow": "b"}).exits
    assert not STEP_TYPES["goto"].check({"type": "goto", "node": "b"}).exits


def test_an_unknown_flow_is_rejected_by_the_loader() -> None:
    with pytest.raises(FlowError) as info:
        build_library({"g": {"type": "goto", "flow": "nowhere"}})
    assert info.value.errors == ["f.yaml: nodes.g.flow: unknown flow 'nowhere' (not in flows/: f)"]

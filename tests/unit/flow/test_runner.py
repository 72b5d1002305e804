"""The flow runner and its step types against a scripted caller (no Asterisk)."""

from collections import deque

import pytest

from ivr.config import PROJECT_ROOT
from ivr.flow.loader import FlowError, load_library, parse_flow
from ivr.flow.runner import FlowRunError, run_flow
from ivr.flow.simulate import ScriptedCaller


def caller_pressing(*keys: str | None) -> ScriptedCaller:
    return ScriptedCaller(deque(keys))


MAIN = load_library(PROJECT_ROOT / "flows").flows["main"]


async def test_new_connection_key_routes_to_connections() -> None:
    caller = caller_pressing("1")
    outcome = await run_flow(MAIN, caller)

    assert outcome.route.queue == "connections"
    assert outcome.route.caller_class == "new_connection"
    assert outcome.path == ("welcome:1",)
    assert caller.asked[0] == (("hello", "beep"), 5000)


async def test_invalid_key_is_retried_then_accepted() -> None:
    caller = caller_pressing("9", "2", "2")
    outcome = await run_flow(MAIN, caller)

    assert caller.played == ["please-try-again"]
    assert outcome.path == ("welcome:2", "support:2")
    assert outcome.route.queue == "tv"


async def test_silence_exhausts_retries_then_takes_on_timeout() -> None:
    caller = caller_pressing()
    outcome = await run_flow(MAIN, caller)

    assert len(caller.asked) == 3 + 2  # welcome: 1 + 2 retries, support: 1 + 1 retry
    assert outcome.path == ("welcome:timeout", "support:timeout")
    assert outcome.route.queue == "internet"


async def test_dead_end_raises() -> None:
    flow = parse_flow(
        {
            "name": "f",
            "start": "m",
            "nodes": {
                "m": {"type": "menu", "prompt": "beep", "retries": 0, "options": {"1": "r"}},
                "r": {"type": "route", "queue": "q", "class": "c"},
            },
        },
        "f.yaml",
    )
    with pytest.raises(FlowRunError, match="ended without a route"):
        await run_flow(flow, caller_pressing(None))


def test_loader_reports_every_error_with_its_key() -> None:
    with pytest.raises(FlowError) as info:
        parse_flow(
            {
                "name": "f",
                "start": "nowhere",
                "nodes": {
                    "a": {"type": "dance"},
                    "b": {"type": "menu", "prompt": "beep", "options": {"x": "a"}},
                    "c": {"type": "play", "prompt": "beep", "next": "ghost"},
                },
            },
            "f.yaml",
        )
    errors = info.value.errors
    assert "f.yaml: nodes.a.type: 'dance' is not one of ['menu', 'play', 'route']" in errors
    assert "f.yaml: nodes.b.options.x: not a DTMF key (0-9 * #)" in errors
    assert "f.yaml: start: 'nowhere' is not a node" in errors
    assert "f.yaml: nodes.c.next: unknown node 'ghost'" in errors


def test_lines_file_errors(tmp_path: object) -> None:
    from pathlib import Path

    d = Path(str(tmp_path))
    (d / "main.yaml").write_text((PROJECT_ROOT / "flows" / "main.yaml").read_text())
    (d / "lines.yaml").write_text(
        "default_flow: main\nlines:\n  - {number: '12a', sphere: service, flow: main}\n"
        "  - {number: '100', sphere: sales, flow: main}\n"
        "  - {number: '200', sphere: audit, flow: x}\n"
    )
    with pytest.raises(FlowError) as info:
        load_library(d)
    assert any("lines[0].number: expected the dialled digits" in e for e in info.value.errors)
    assert any("lines[1].sphere: expected one of" in e for e in info.value.errors)
    assert any("lines[2].flow: 'x' is not a flow" in e for e in info.value.errors)


def test_unknown_number_gets_default_flow() -> None:
    library = load_library(PROJECT_ROOT / "flows")
    line, flow = library.flow_for("0000")
    assert line is None and flow.name == library.default_flow
    line, flow = library.flow_for("5552000")
    assert line is not None and line.sphere == "connections"

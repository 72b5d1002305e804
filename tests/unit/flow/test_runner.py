"""The flow runner: switching flows, ending the call, failing safely (no Asterisk)."""

from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.calls.simulate import ScriptedCaller, TextSpeech
from ivr.config import PROJECT_ROOT
from ivr.events.model import Event
from ivr.flow.context import CallInfo, FlowServices
from ivr.flow.loader import load_library
from ivr.flow.model import FlowLibrary
from ivr.flow.runner import MAX_STEPS, FlowRunError, new_context, run_flow
from tests.unit.fakes import NobodyKnown

NOON = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday 12:00 in Kyiv: operators work


def library_of(tmp_path: Path, flows: dict[str, dict[str, Any]]) -> FlowLibrary:
    for name, nodes in flows.items():
        start = next(iter(nodes))
        (tmp_path / f"{name}.yaml").write_text(
            yaml.safe_dump({"name": name, "start": start, "nodes": nodes}), encoding="utf-8"
        )
    (tmp_path / "prompts.yaml").write_text(
        "languages: [uk, en]\nprompts:\n  hi: {uk: Привіт, en: Hello}\n", encoding="utf-8"
    )
    first = next(iter(flows))
    (tmp_path / "lines.yaml").write_text(
        f"default_flow: {first}\nlines:\n"
        f"  - {{number: '100', sphere: service, flow: {first}, language: en}}\n",
        encoding="utf-8",
    )
    return load_library(tmp_path)


async def run(library: FlowLibrary, number: str, *keys: str | None) -> tuple[Any, Any, list[Event]]:
    records: list[Event] = []
    port = ScriptedCaller(deque(keys))
    services = FlowServices(NobodyKnown(), TextSpeech(), records.append, lambda: NOON)
    ctx = new_context(
        library, CallInfo("c1", number, "0441", library.lines.get(number)), port, services
    )
    return await run_flow(ctx), port, records


async def test_goto_flow_carries_variables_and_language(tmp_path: Path) -> None:
    library = library_of(
        tmp_path,
        {
            "a": {
                "s": {"type": "set", "vars": {"who": "{caller}"}, "next": "g"},
                "g": {"type": "goto", "flow": "b"},
            },
            "b": {
                "p": {"type": "play", "prompt": [{"say": "{who}"}, "hi"], "next": "h"},
                "h": {"type": "hangup"},
            },
        },
    )
    outcome, port, _ = await run(library, "100")

    assert outcome.route is None  # the flow ended the call
    assert outcome.path == ("g:b", "h:hangup")
    assert port.heard == ["say[uk]: 0441", "say[en]: Hello"]  # line 100 speaks English


async def test_unknown_number_runs_the_default_flow_in_the_default_language(
    tmp_path: Path,
) -> None:
    library = library_of(
        tmp_path,
        {"a": {"p": {"type": "play", "prompt": "hi", "next": "h"}, "h": {"type": "hangup"}}},
    )
    _, port, _ = await run(library, "999")
    assert port.heard == ["say[uk]: Привіт"]


async def test_a_menu_that_times_out_goes_to_on_timeout(tmp_path: Path) -> None:
    """A menu must say where silence goes (validation refuses one without): no fallback."""
    menu = {"type": "menu", "retries": 0, "options": {"1": "h"}}
    route = {"type": "route", "queue": "connections", "class": "new_connection"}
    library = library_of(
        tmp_path,
        {"a": {"m": {**menu, "on_timeout": "q", "on_invalid": "q"}, "h": route, "q": route}},
    )
    outcome, _, _ = await run(library, "100", None)
    assert outcome.route.queue == "connections"


async def test_a_failing_step_becomes_a_flow_error(tmp_path: Path) -> None:
    library = library_of(
        tmp_path,
        {
            "a": {
                "r": {"type": "meter_reading", "reading": "reading", "next": "h"},
                "h": {"type": "hangup"},
            }
        },
    )
    with pytest.raises(FlowRunError, match="variable 'reading'"):
        await run(library, "100")


async def test_endless_flow_switching_stops_at_the_step_limit(tmp_path: Path) -> None:
    library = library_of(
        tmp_path,
        {"a": {"g": {"type": "goto", "flow": "b"}}, "b": {"g": {"type": "goto", "flow": "a"}}},
    )
    with pytest.raises(FlowRunError, match=f"more than {MAX_STEPS} steps"):
        await run(library, "100")


def test_unknown_number_gets_default_flow() -> None:
    library = load_library(PROJECT_ROOT / "flows")
    line, flow = library.flow_for("0000")
    assert line is None and flow.name == library.default_flow
    line, flow = library.flow_for("5552000")
    assert line is not None and line.sphere == "connections" and flow.name == "connections"
    line, _ = library.flow_for("5555000")  # from lines.csv
    assert line is not None and (line.city, line.language) == ("Odesa", "ru")

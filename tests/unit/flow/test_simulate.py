"""`ivr flow simulate`: the shipped flows run without Asterisk, every menu path."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.flow.loader import load_library
from ivr.flow.model import Flow
from ivr.flow.simulate import simulate
from ivr.queues.model import load_queues

LIBRARY = load_library(PROJECT_ROOT / "flows")
QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")


def key_paths(flow: Flow, node_id: str, keys: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every sequence of first-try keys through the menus, ending at a route."""
    node = flow.nodes[node_id]
    if node.type == "route":
        yield keys
    elif node.type == "menu":
        for key, target in node.spec["options"].items():
            yield from key_paths(flow, target, (*keys, str(key)))
    else:
        yield from key_paths(flow, node.spec["next"], keys)


ALL_PATHS = [
    (name, keys) for name, flow in LIBRARY.flows.items() for keys in key_paths(flow, flow.start)
]


@pytest.mark.parametrize(("flow_name", "keys"), ALL_PATHS, ids=[" ".join(k) for _, k in ALL_PATHS])
async def test_every_menu_path_of_shipped_flows_routes(
    flow_name: str, keys: tuple[str, ...]
) -> None:
    line = next(n for n, line in LIBRARY.lines.items() if line.flow == flow_name)
    result = await simulate(LIBRARY, QUEUES, line, "0441112233", list(keys))

    assert result.queue in QUEUES.queues
    assert result.reason == "as configured"
    assert [step.split(":")[1] for step in result.path] == list(keys)
    assert result.unused_keys == ()


async def test_new_connection_outranks_support_in_the_shipped_menu() -> None:
    new = await simulate(LIBRARY, QUEUES, "5552000", "1", ["1"])
    old = await simulate(LIBRARY, QUEUES, "5551000", "1", ["2", "1"])
    assert (new.queue, new.caller_class) == ("connections", "new_connection")
    assert new.priority > old.priority


async def test_engine_error_shows_the_dialplan_fallback(tmp_path: Path) -> None:
    (tmp_path / "lines.yaml").write_text("default_flow: f\nlines: []\n")
    (tmp_path / "f.yaml").write_text(
        "name: f\nstart: m\nnodes:\n  m: {type: menu, retries: 0, options: {'1': r}}\n"
        "  r: {type: route, queue: tv, class: existing_service}\n"
    )
    result = await simulate(load_library(tmp_path), QUEUES, "1", "2", [])

    assert result.queue == QUEUES.fallback_queue
    assert result.reason.startswith("engine error, dialplan fallback: flow 'f' ended")


def test_cli_simulate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["flow", "simulate", "--line", "5553000", "--caller", "0322", "--dtmf", "2 2 7", "--json"]
    )
    out = json.loads(capsys.readouterr().out)

    assert code == 0
    assert out["path"] == ["welcome:2", "support:2"]
    assert (out["queue"], out["priority"], out["unused_keys"]) == ("tv", 5, ["7"])
    assert out["heard"][:2] == ["hello", "beep"]

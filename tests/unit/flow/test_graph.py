"""`ivr flow graph`: every node and every way on of every shipped flow is drawn, and the
real Graphviz renders it (Cyrillic and quotes included)."""

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.flow.graph import GraphError, edge_label, flow_dot, quote, render_graph
from ivr.flow.loader import load_library
from ivr.flow.model import FlowLibrary
from ivr.flow.steps.registry import STEP_TYPES

LIBRARY = load_library(PROJECT_ROOT / "flows")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LINES = "default_flow: f\nlines:\n  - {number: '100', sphere: service, flow: f}\n"


@pytest.fixture(autouse=True)
def dot() -> None:
    """Fail (never skip) when Graphviz is missing: scripts/system-deps.sh installs it."""
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed: run scripts/system-deps.sh as root")


def laid_out(dot_text: str) -> tuple[dict[str, str], dict[tuple[str, str], list[str]]]:
    """The graph as Graphviz reads it: node labels by name, edge label lines by (from, to)."""
    done = subprocess.run(
        ["dot", "-Tjson"], input=dot_text.encode(), capture_output=True, check=True
    )
    graph: dict[str, Any] = json.loads(done.stdout)
    objects = graph["objects"]
    labels = {o["name"]: o.get("label", "") for o in objects}
    edges: dict[tuple[str, str], list[str]] = {}
    for edge in graph["edges"]:
        key = (objects[edge["tail"]]["name"], objects[edge["head"]]["name"])
        assert key not in edges, f"edge {key} drawn twice"
        edges[key] = edge.get("label", "").split("\\n") if edge.get("label") else []
    return labels, edges


@pytest.mark.parametrize("name", sorted(LIBRARY.flows))
def test_every_node_and_every_target_is_drawn(name: str) -> None:
    flow = LIBRARY.flows[name]
    labels, edges = laid_out(flow_dot(LIBRARY, name))

    for node in flow.nodes.values():
        assert labels[node.id].startswith(f"{node.id} ({node.type})")
        for path, target in STEP_TYPES[node.type].check(node.spec).targets.items():
            assert (node.id, target) in edges, (node.id, path, target)
            shown = edges[(node.id, target)]
            label = edge_label(node, path)  # "" (plain next) reads "next" beside others
            assert label in shown if label else (not shown or "next" in shown)
        if node.type == "goto" and "flow" in node.spec:
            (other,) = [dst for src, dst in edges if src == node.id]
            assert labels[other] == f"flow {node.spec['flow']}"
    starts = [src for src, dst in edges if dst == flow.start and labels[src] == ""]
    assert len(starts) == 1  # the start marker points at the start node
    expected = {
        (n.id, target)
        for n in flow.nodes.values()
        for target in STEP_TYPES[n.type].check(n.spec).targets.values()
    }
    goto_flows = {n.id for n in flow.nodes.values() if n.type == "goto" and "flow" in n.spec}
    drawn = {(src, dst) for src, dst in edges if src in flow.nodes and src not in goto_flows}
    assert drawn == expected  # no edge that is not a target


def test_edges_say_what_takes_the_caller_there() -> None:
    _, edges = laid_out(flow_dot(LIBRARY, "support"))

    assert edges[("service_menu", "tv")] == ["2"]
    assert edges[("service_menu", "internet")] == ["1", "timeout", "invalid"]
    assert edges[("identify", "ask_contract")] == ["not_found"]
    assert edges[("callback", "goodbye")] == []  # plain `next`: no label
    assert edges[("callback", "no_callback")] == ["fail"]
    _, edges = laid_out(flow_dot(LIBRARY, "main"))
    assert edges[("hours", "menu")] == ["open: operators"]
    assert edges[("hours", "after_hours")] == ["else"]


def odd_library(tmp_path: Path) -> FlowLibrary:
    """A flow whose ids and prompts need escaping: quotes, backslashes, Cyrillic."""
    flow = (
        "name: f\nstart: 'при\"вет\\'\nnodes:\n"
        "  'при\"вет\\': {type: play, prompt: {say: 'Вітаємо, \"друже\" \\n'}, next: q}\n"
        "  q: {type: condition, cases: [{if: {time: '22:00-08:00'}, then: r}], else: r}\n"
        "  r: {type: route, queue: черга, class: c}\n"
    )
    (tmp_path / "f.yaml").write_text(flow, encoding="utf-8")
    (tmp_path / "lines.yaml").write_text(LINES, encoding="utf-8")
    return load_library(tmp_path)


def test_quotes_backslashes_and_cyrillic_survive_into_the_svg(tmp_path: Path) -> None:
    out = tmp_path / "f.svg"
    render_graph(flow_dot(odd_library(tmp_path), "f"), out)

    texts = [t.text for t in ET.parse(out).iter("{http://www.w3.org/2000/svg}text")]
    assert 'при"вет\\ (play)' in texts
    assert '"Вітаємо, "друже" \\n"' in texts
    assert "queue черга" in texts
    assert "time: 22:00-08:00" in texts


def test_quote_escapes_for_dot() -> None:
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert quote("кінець\\") == '"кінець\\\\"'  # a trailing backslash cannot eat the quote


@pytest.mark.parametrize(("suffix", "start"), [(".svg", b"<"), (".png", PNG_MAGIC)])
def test_renders_svg_and_png(tmp_path: Path, suffix: str, start: bytes) -> None:
    out = tmp_path / "deep" / f"main{suffix}"
    render_graph(flow_dot(LIBRARY, "main"), out)

    data = out.read_bytes()
    assert data.startswith(start)
    if suffix == ".svg":
        assert data.lstrip().startswith((b"<?xml", b"<svg")) and b"</svg>" in data


def test_dot_file_is_the_text(tmp_path: Path) -> None:
    text = flow_dot(LIBRARY, "meter")
    render_graph(text, tmp_path / "meter.dot")
    assert (tmp_path / "meter.dot").read_text(encoding="utf-8") == text


def test_missing_dot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="install the Debian package graphviz"):
        render_graph("digraph {}", tmp_path / "x.svg", dot=str(tmp_path / "no-such-dot"))
    assert not (tmp_path / "x.svg").exists()


def test_unknown_format_and_unknown_flow(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match=r"ending in \.svg, \.png, \.dot"):
        render_graph("digraph {}", tmp_path / "x.pdf")
    with pytest.raises(GraphError, match=r"unknown flow 'nope' .*main, meter"):
        flow_dot(LIBRARY, "nope")


def test_broken_dot_text_reports_graphviz_error(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="syntax error"):
        render_graph("digraph { -> }", tmp_path / "x.svg")


def test_cli_writes_one_flow_and_all_flows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "main.png"
    assert main(["flow", "graph", "main", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert f"wrote {out}" in capsys.readouterr().out

    assert main(["flow", "graph", "--all", "--out", str(tmp_path / "all")]) == 0
    written = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert written == sorted(f"{name}.svg" for name in LIBRARY.flows)
    assert capsys.readouterr().out.count("wrote ") == len(LIBRARY.flows)
    main_svg = (tmp_path / "all" / "main.svg").read_text(encoding="utf-8")
    assert 'href="support.svg"' in main_svg  # other flows link to their pictures


def test_cli_unknown_flow_lists_the_flows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flow", "graph", "nope", "--out", str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert "unknown flow 'nope'" in err and "closed, connections, main" in err
    assert not (tmp_path / "x.svg").exists()


def test_cli_flows_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd_library(tmp_path)
    out = tmp_path / "f.dot"
    assert main(["flow", "graph", "f", "--directory", str(tmp_path), "--out", str(out)]) == 0
    assert "черга" in out.read_text(encoding="utf-8")

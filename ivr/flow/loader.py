"""Load flows/ (lines.yaml + one YAML file per flow) into a validated FlowLibrary.

Every problem is reported as `file:line:col: key: message`; errors reject the library,
warnings (unreachable nodes, nodes from which no route can be reached) do not.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.flow.model import Flow, FlowLibrary, Line, Node, Sphere
from ivr.flow.problems import Located, Problem, Problems, load_located
from ivr.flow.steps.base import FlowSpecError, KeyPath
from ivr.flow.steps.registry import STEP_TYPES

LINES_FILE = "lines.yaml"
FLOW_KEYS = frozenset({"name", "start", "nodes"})


class FlowError(ValueError):
    """Flow files are invalid; `problems` locates each, `errors` are their texts."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.errors = [str(p) for p in problems if not p.warning]
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class Validation:
    library: FlowLibrary | None
    problems: list[Problem]


def _read(path: Path, problems: Problems) -> Located | None:
    try:
        located = load_located(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.add((), f"cannot read: {exc.strerror}")
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        position = (mark.line + 1, mark.column + 1) if mark else None
        problems.items.append(Problem(str(path), (), f"not valid YAML: {exc.problem}", position))
        return None
    problems.located = located
    for duplicate in located.duplicates:
        problems.add(duplicate, "duplicate key (YAML keeps only the last one)", at_key=True)
    return located


def _check_node(
    node_id: str, spec: Any, problems: Problems
) -> tuple[Node, dict[KeyPath, str]] | None:
    where = ("nodes", node_id)
    if not isinstance(spec, dict):
        problems.add(where, "expected a mapping with a type")
        return None
    kind = spec.get("type")
    step = STEP_TYPES.get(kind) if isinstance(kind, str) else None
    if step is None or not isinstance(kind, str):
        problems.add((*where, "type"), f"{kind!r} is not one of {sorted(STEP_TYPES)}")
        return None
    unknown = sorted(str(k) for k in spec if k not in step.keys)
    for key in unknown:
        problems.add(
            (*where, key),
            f"unknown key for a {kind} node (expected: {', '.join(sorted(step.keys))})",
            at_key=True,
        )
    try:
        targets = step.check(spec)
    except FlowSpecError as exc:
        problems.add((*where, *exc.key), exc.message, at_key=exc.at_key)
        return None
    return Node(node_id, kind, spec), targets


def _reachable(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_graph(
    start: str, nodes: Mapping[str, Node], edges: Mapping[str, set[str]], problems: Problems
) -> None:
    reached = _reachable(start, edges)
    for node_id in nodes:
        if node_id not in reached:
            problems.add(("nodes", node_id), "unreachable from start", at_key=True, warning=True)
    routes = {n for n, node in nodes.items() if node.type == "route"}
    reverse: dict[str, set[str]] = {}
    for src, outs in edges.items():
        for dst in outs:
            reverse.setdefault(dst, set()).add(src)
    can_route = set().union(*(_reachable(r, reverse) for r in routes)) if routes else set()
    for node_id in sorted(reached - can_route):
        problems.add(
            ("nodes", node_id),
            "no route can be reached from here "
            "(a loop without exit or a dead end: the caller would get the fallback)",
            at_key=True,
            warning=True,
        )


def parse_flow(data: Any, source: str, problems: Problems | None = None) -> Flow:
    problems = problems or Problems(source)
    if not isinstance(data, dict):
        problems.add((), "expected a mapping with name, start and nodes")
        raise FlowError(problems.items)
    for key in sorted(str(k) for k in data if k not in FLOW_KEYS):
        problems.add((key,), f"unknown key (expected: {', '.join(sorted(FLOW_KEYS))})", at_key=True)
    name, start, raw_nodes = data.get("name"), data.get("start"), data.get("nodes")
    if not isinstance(name, str) or not name:
        problems.add(("name",), "expected the flow's name")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        problems.add(("nodes",), "expected a mapping of node id to node")
        raise FlowError(problems.items)
    nodes: dict[str, Node] = {}
    edges: dict[str, set[str]] = {}
    for node_id, spec in raw_nodes.items():
        checked = _check_node(str(node_id), spec, problems)
        if checked is None:
            continue
        nodes[str(node_id)], targets = checked
        edges[str(node_id)] = set(targets.values())
        for key_path, target in targets.items():
            if target not in raw_nodes:
                problems.add(("nodes", str(node_id), *key_path), f"unknown node {target!r}")
    if start not in raw_nodes:
        problems.add(("start",), f"{start!r} is not a node")
    elif not problems.errors:
        _check_graph(str(start), nodes, edges, problems)
    if problems.errors:
        raise FlowError(problems.items)
    return Flow(name=str(name), start=str(start), nodes=nodes)


def _parse_lines(
    data: Any, problems: Problems, flows: Mapping[str, Flow], broken: set[str]
) -> tuple[dict[str, Line], str]:
    """Lines and the default flow; names of `broken` flows (reported in their own files) are
    accepted here so one bad flow does not bury lines.yaml in follow-on errors."""
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        problems.add((), "expected a mapping with default_flow and a list of lines")
        return {}, ""
    default_flow = data.get("default_flow")
    if default_flow not in flows and default_flow not in broken:
        problems.add(("default_flow",), f"{default_flow!r} is not a flow ({sorted(flows)})")
    lines: dict[str, Line] = {}
    for index, raw in enumerate(data["lines"]):
        where: tuple[str | int, ...] = ("lines", index)
        if not isinstance(raw, dict):
            problems.add(where, "expected a mapping")
            continue
        number = str(raw.get("number", ""))
        if not number.isdigit():
            problems.add(
                (*where, "number"), f"expected the dialled digits, got {raw.get('number')!r}"
            )
        elif number in lines:
            problems.add((*where, "number"), f"{number} is listed twice")
        try:
            sphere = Sphere(str(raw.get("sphere")))
        except ValueError:
            problems.add((*where, "sphere"), f"expected one of {[s.value for s in Sphere]}")
            continue
        if raw.get("flow") not in flows:
            if raw.get("flow") not in broken:
                problems.add(
                    (*where, "flow"), f"{raw.get('flow')!r} is not a flow ({sorted(flows)})"
                )
            continue
        lines[number] = Line(
            number,
            sphere,
            str(raw.get("city", "")),
            str(raw.get("published", "")),
            str(raw["flow"]),
        )
    return lines, str(default_flow)


def validate_library(directory: str | Path) -> Validation:
    """Every *.yaml in `directory` but lines.yaml is a flow; all problems are collected."""
    directory = Path(directory)
    flows: dict[str, Flow] = {}
    broken: set[str] = set()
    found: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == LINES_FILE:
            continue
        problems = Problems(str(path))
        located = _read(path, problems)
        if located is not None:
            try:
                flow = parse_flow(located.data, str(path), problems)
                if flow.name in flows:
                    problems.add(("name",), f"flow {flow.name!r} is defined twice")
                flows[flow.name] = flow
            except FlowError:
                name = located.data.get("name") if isinstance(located.data, dict) else None
                if isinstance(name, str):
                    broken.add(name)
        found += problems.items
    lines_path = directory / LINES_FILE
    line_problems = Problems(str(lines_path))
    located = _read(lines_path, line_problems)
    lines, default_flow = _parse_lines(
        located.data if located else None, line_problems, flows, broken
    )
    found += line_problems.items
    if any(not p.warning for p in found):
        return Validation(None, found)
    return Validation(FlowLibrary(flows=flows, lines=lines, default_flow=default_flow), found)


def load_library(directory: str | Path, warn: Callable[[str], object] | None = None) -> FlowLibrary:
    """The validated library; FlowError on any error, warnings passed to `warn`."""
    validation = validate_library(directory)
    if validation.library is None:
        raise FlowError(validation.problems)
    for problem in validation.problems:
        if warn is not None:
            warn(str(problem))
    return validation.library

"""Load flows/ (lines.yaml + one YAML file per flow) into a validated FlowLibrary."""

from pathlib import Path
from typing import Any

import yaml

from ivr.flow.model import Flow, FlowLibrary, Line, Node, Sphere
from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

LINES_FILE = "lines.yaml"


class FlowError(ValueError):
    """One or more flow files are invalid; `errors` lists each as 'file: message'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise FlowError([f"{path}: not valid YAML: {exc}"]) from exc


def parse_flow(data: Any, source: str) -> Flow:
    errors: list[str] = []
    if not isinstance(data, dict):
        raise FlowError([f"{source}: expected a mapping with name, start and nodes"])
    name, start, raw_nodes = data.get("name"), data.get("start"), data.get("nodes")
    if not isinstance(name, str) or not name:
        errors.append(f"{source}: name: expected the flow's name")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise FlowError([*errors, f"{source}: nodes: expected a mapping of node id to node"])
    nodes: dict[str, Node] = {}
    targets: dict[str, list[str]] = {}
    for node_id, spec in raw_nodes.items():
        if not isinstance(spec, dict):
            errors.append(f"{source}: nodes.{node_id}: expected a mapping with a type")
            continue
        kind = spec.get("type")
        step = STEP_TYPES.get(kind) if isinstance(kind, str) else None
        if step is None or not isinstance(kind, str):
            errors.append(
                f"{source}: nodes.{node_id}.type: {kind!r} is not one of {sorted(STEP_TYPES)}"
            )
            continue
        try:
            targets[node_id] = step.check(str(node_id), spec)
        except FlowSpecError as exc:
            errors.append(f"{source}: {exc}")
            continue
        nodes[str(node_id)] = Node(str(node_id), kind, spec)
    if start not in raw_nodes:
        errors.append(f"{source}: start: {start!r} is not a node")
    for node_id, outs in targets.items():
        errors += [
            f"{source}: nodes.{node_id}: goes to unknown node {t!r}"
            for t in outs
            if t not in raw_nodes
        ]
    if errors:
        raise FlowError(errors)
    return Flow(name=str(name), start=str(start), nodes=nodes)


def _parse_lines(data: Any, source: str, flows: dict[str, Flow]) -> tuple[dict[str, Line], str]:
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        raise FlowError([f"{source}: expected a mapping with default_flow and a list of lines"])
    errors: list[str] = []
    default_flow = data.get("default_flow")
    if default_flow not in flows:
        errors.append(f"{source}: default_flow: {default_flow!r} is not a flow ({sorted(flows)})")
    lines: dict[str, Line] = {}
    for index, raw in enumerate(data["lines"]):
        where = f"{source}: lines[{index}]"
        if not isinstance(raw, dict):
            errors.append(f"{where}: expected a mapping")
            continue
        number = str(raw.get("number", ""))
        if not number.isdigit():
            errors.append(f"{where}.number: expected the dialled digits, got {raw.get('number')!r}")
        elif number in lines:
            errors.append(f"{where}.number: {number} is listed twice")
        try:
            sphere = Sphere(str(raw.get("sphere")))
        except ValueError:
            errors.append(f"{where}.sphere: expected one of {[s.value for s in Sphere]}")
            continue
        if raw.get("flow") not in flows:
            errors.append(f"{where}.flow: {raw.get('flow')!r} is not a flow ({sorted(flows)})")
            continue
        lines[number] = Line(
            number,
            sphere,
            str(raw.get("city", "")),
            str(raw.get("published", "")),
            str(raw["flow"]),
        )
    if errors:
        raise FlowError(errors)
    return lines, str(default_flow)


def load_library(directory: str | Path) -> FlowLibrary:
    """Every *.yaml in `directory` but lines.yaml is a flow; all errors are reported together."""
    directory = Path(directory)
    flows: dict[str, Flow] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == LINES_FILE:
            continue
        try:
            flow = parse_flow(_read_yaml(path), str(path))
        except FlowError as exc:
            errors += exc.errors
            continue
        if flow.name in flows:
            errors.append(f"{path}: name: flow {flow.name!r} is defined twice")
        flows[flow.name] = flow
    if errors:
        raise FlowError(errors)
    lines_path = directory / LINES_FILE
    lines, default_flow = _parse_lines(_read_yaml(lines_path), str(lines_path), flows)
    return FlowLibrary(flows=flows, lines=lines, default_flow=default_flow)

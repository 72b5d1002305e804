"""Load flows/ into a validated FlowLibrary: one YAML file per flow, plus lines.yaml (and
lines.csv for long lists of numbers), prompts.yaml and calendar.yaml.

Every problem is reported as `file:line:col: key: message`. Errors reject the whole
library (the engine keeps serving the old one); warnings (unreachable nodes, prompts
missing a language) do not.
"""

import stat
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ivr.flow.calendar import ALWAYS, CALENDAR_FILE, parse_calendar
from ivr.flow.lines import LINES_CSV, LINES_FILE, add_lines, parse_lines, read_lines_csv
from ivr.flow.model import Flow, FlowLibrary, Line, Node
from ivr.flow.prompts import EMPTY_CATALOG, PROMPTS_FILE, parse_catalog
from ivr.flow.steps.base import Checked, FlowSpecError, Ref
from ivr.flow.steps.registry import STEP_TYPES, StepTypes
from ivr.yamlfiles.problems import Problem, Problems, read_yaml

T = TypeVar("T")
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024  # flows/ in all: ~100 times the flows shipped
MAX_FLOW_FILES = 100
FLOW_KEYS = frozenset({"name", "start", "nodes"})
NOT_FLOWS = frozenset({LINES_FILE, PROMPTS_FILE, CALENDAR_FILE})


class FlowError(ValueError):
    """Flow files are invalid; `problems` locates each, `errors` are their texts."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.errors = [str(p) for p in problems if not p.warning]
        super().__init__("\n".join(self.errors))


class _AnyName(frozenset[str]):
    """Stands for the names a broken file defines (prompts, languages): its errors are
    reported there, so nodes and lines do not repeat them as unknown names."""

    def __contains__(self, item: object) -> bool:
        return True


@dataclass(frozen=True)
class Validation:
    library: FlowLibrary | None
    problems: list[Problem]


@dataclass(frozen=True)
class Names:
    """What flows may refer to; `queues`/`classes` are checked only when given."""

    prompts: Collection[str]
    languages: Collection[str]
    schedules: Collection[str]
    flows: Collection[str]
    queues: Collection[str] | None = None
    classes: Collection[str] | None = None


def _check_node(node_id: str, spec: Any, problems: Problems, steps: StepTypes) -> Node | None:
    """The node read by its step type, or None (its problems added)."""
    where = ("nodes", node_id)
    if not isinstance(spec, dict):
        problems.add(where, "expected a mapping with a type")
        return None
    kind = spec.get("type")
    step = steps.get(kind) if isinstance(kind, str) else None
    if step is None or not isinstance(kind, str):
        problems.add((*where, "type"), f"{kind!r} is not one of {sorted(steps)}")
        return None
    for key in sorted(str(k) for k in spec if k not in step.keys):
        problems.add(
            (*where, key),
            f"unknown key for a {kind} node (expected: {', '.join(sorted(step.keys))})",
            at_key=True,
        )
    try:
        checked = step.check(spec)
    except FlowSpecError as exc:
        problems.add((*where, *exc.key), exc.message, at_key=exc.at_key)
        return None
    return Node(node_id, kind, spec, step, checked)


def _reachable(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_graph(start: str, checked: Mapping[str, Checked[Any]], problems: Problems) -> None:
    edges = {n: set(c.targets.values()) for n, c in checked.items()}
    reached = _reachable(start, edges)
    for node_id in checked:
        if node_id not in reached:
            problems.add(("nodes", node_id), "unreachable from start", at_key=True, warning=True)
    reverse: dict[str, set[str]] = {}
    for src, outs in edges.items():
        for dst in outs:
            reverse.setdefault(dst, set()).add(src)
    exits = [n for n, c in checked.items() if c.exits]
    can_exit = set().union(*(_reachable(e, reverse) for e in exits)) if exits else set()
    for node_id in sorted(reached - can_exit):
        problems.add(
            ("nodes", node_id),
            "no route, hangup or other flow can be reached from here "
            "(a loop without exit or a dead end)",
            at_key=True,
        )


def _check_ref(ref: Ref, names: Names) -> str | None:
    """What is wrong with a reference, or None."""
    known: Collection[str] | None = {
        "prompt": names.prompts,
        "schedule": names.schedules,
        "flow": names.flows,
        "language": names.languages,
        "queue": names.queues,
        "class": names.classes,
    }[ref.kind]
    if known is None or ref.name in known:
        return None
    where = {
        "prompt": f"{PROMPTS_FILE}",
        "schedule": f"{CALENDAR_FILE} schedules",
        "flow": "flows/",
        "language": f"{PROMPTS_FILE} languages",
        "queue": "queues.yaml",
        "class": "queues.yaml caller_classes",
    }[ref.kind]
    return f"unknown {ref.kind} {ref.name!r} (not in {where}: {', '.join(sorted(known))})"


def parse_flow(
    data: Any,
    source: str,
    names: Names,
    problems: Problems | None = None,
    steps: StepTypes = STEP_TYPES,
) -> Flow:
    """A flow file's data as a Flow, its nodes read by `steps`; FlowError on errors."""
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
    for node_id, spec in raw_nodes.items():
        found = _check_node(str(node_id), spec, problems, steps)
        if found is None:
            continue
        nodes[str(node_id)] = found
        where = ("nodes", str(node_id))
        for key_path, target in found.checked.targets.items():
            if target not in raw_nodes:
                problems.add((*where, *key_path), f"unknown node {target!r}")
        for ref in found.checked.refs:
            wrong = _check_ref(ref, names)
            if wrong:
                problems.add((*where, *ref.key), wrong)
    if not isinstance(start, str) or start not in raw_nodes:
        problems.add(("start",), f"{start!r} is not a node")
    elif not problems.errors:
        _check_graph(str(start), {n: node.checked for n, node in nodes.items()}, problems)
    if problems.errors:
        raise FlowError(problems.items)
    return Flow(name=str(name), start=str(start), nodes=nodes)


def _optional(
    path: Path, parse: Callable[[Any, Problems], T], default: T, found: list[Problem]
) -> T:
    """An optional YAML file parsed by `parse`; `default` when absent or unreadable."""
    if not path.exists() and not path.is_symlink():
        return default
    problems = Problems(str(path))
    located = read_yaml(path, problems, within=path.parent)
    result = parse(located.data, problems) if located else default
    found += problems.items
    return result


def _refused(directory: Path) -> str | None:
    """Why a directory is not read at all (too many or too large files), or None. Files
    that are not regular files are refused one by one when read."""
    if not directory.is_dir():
        return "not a directory" if directory.exists() else "no such directory"
    flows, total = 0, 0
    for path in directory.iterdir():
        if path.suffix not in (".yaml", ".csv"):
            continue
        flows += path.suffix == ".yaml" and path.name not in NOT_FLOWS
        try:
            info = path.stat()
        except OSError:
            continue  # a dangling link: reported when read
        total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    if flows > MAX_FLOW_FILES:
        return f"refused: {flows} flow files (at most {MAX_FLOW_FILES})"
    if total > MAX_DIRECTORY_BYTES:
        return f"refused: {total} bytes of .yaml and .csv files (at most {MAX_DIRECTORY_BYTES})"
    return None


def _read_lines(
    directory: Path,
    flows: Mapping[str, Flow],
    broken: Collection[str],
    languages: Collection[str],
    found: list[Problem],
) -> tuple[dict[str, Line], str]:
    """lines.yaml (and lines.csv): the lines by number and the default flow."""
    lines_problems = Problems(str(directory / LINES_FILE))
    located = read_yaml(directory / LINES_FILE, lines_problems, within=directory)
    lines: dict[str, Line] = {}
    default_flow = ""
    if located is not None:  # else its problem is reported, not followed by "no lines"
        lines, default_flow = parse_lines(located.data, lines_problems, flows, broken, languages)
    found += lines_problems.items
    if (directory / LINES_CSV).exists() or (directory / LINES_CSV).is_symlink():
        csv_problems = Problems(str(directory / LINES_CSV))
        rows = read_lines_csv(directory / LINES_CSV, csv_problems)
        add_lines(rows, csv_problems, flows, broken, languages, lines)
        found += csv_problems.items
    return lines, default_flow


def validate_library(
    directory: str | Path,
    queues: Collection[str] | None = None,
    classes: Collection[str] | None = None,
    steps: StepTypes = STEP_TYPES,
) -> Validation:
    """Every *.yaml in `directory` but lines/prompts/calendar is a flow, its nodes of the
    types in `steps`; all problems are collected. Give `queues` and `classes` to check
    routes against queues.yaml."""
    directory = Path(directory)
    try:
        refused = _refused(directory)
    except OSError as exc:
        refused = f"cannot read: {exc.strerror}"
    if refused:
        return Validation(None, [Problem(str(directory), (), refused)])
    found: list[Problem] = []
    catalog = _optional(directory / PROMPTS_FILE, parse_catalog, EMPTY_CATALOG, found)
    prompts_broken = any(not p.warning for p in found)
    calendar = _optional(directory / CALENDAR_FILE, parse_calendar, ALWAYS, found)
    # Each flow file is read once; the names it declares are known before any is parsed,
    # so a goto may name a flow defined in a later file.
    files = []
    for path in sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_FLOWS):
        problems = Problems(str(path))
        files.append((path, problems, read_yaml(path, problems, within=directory)))
    declared = {
        f.data["name"]
        for _, _, f in files
        if f is not None and isinstance(f.data, dict) and isinstance(f.data.get("name"), str)
    }
    languages = _AnyName() if prompts_broken else catalog.languages
    prompt_names = _AnyName() if prompts_broken else catalog.prompts
    names = Names(prompt_names, languages, calendar.schedules, declared, queues, classes)
    flows: dict[str, Flow] = {}
    for path, problems, located in files:
        if located is not None:
            try:
                flow = parse_flow(located.data, str(path), names, problems, steps)
                if flow.name in flows:
                    problems.add(("name",), f"flow {flow.name!r} is defined twice")
                flows[flow.name] = flow
            except FlowError:
                pass
        found += problems.items
    lines, default_flow = _read_lines(directory, flows, declared - set(flows), languages, found)
    if any(not p.warning for p in found):
        return Validation(None, found)
    library = FlowLibrary(flows, lines, default_flow, catalog, calendar)
    return Validation(library, found)


def load_library(
    directory: str | Path,
    warn: Callable[[str], object] | None = None,
    queues: Collection[str] | None = None,
    classes: Collection[str] | None = None,
    steps: StepTypes = STEP_TYPES,
) -> FlowLibrary:
    """The validated library; FlowError on any error, warnings passed to `warn`."""
    validation = validate_library(directory, queues, classes, steps)
    if validation.library is None:
        raise FlowError(validation.problems)
    for problem in validation.problems:
        if warn is not None:
            warn(str(problem))
    return validation.library

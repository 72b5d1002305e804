"""`ivr flow graph`: one flow drawn as a Graphviz diagram (DOT text, rendered by `dot`).

A box per node (its id, type and what it says or decides), an arrow per place it can go,
labelled with what takes the caller there: a DTMF key, timeout/invalid, a condition's
tests, else, found/not_found... A goto to another flow points at that flow.
"""

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.flow.model import Flow, FlowLibrary, Node
from ivr.flow.prompts import Sound
from ivr.flow.steps.base import KeyPath, prompts_of
from ivr.flow.steps.registry import STEP_TYPES

FORMATS = (".svg", ".png", ".dot")
MAX_TEXT = 40  # characters of a detail line before it is cut with "…"
FONT = "DejaVu Sans,Helvetica,Arial,sans-serif"

# Graphviz node attributes by type: asking steps are boxes, decisions diamonds; steps that
# end the flow (route, hangup, goto another flow) are grey, bold terminal shapes.
TERMINAL = 'style="filled,bold", fillcolor="#f2f2f2"'
LOOKS = {
    "menu": "shape=box",
    "choose": "shape=box",
    "language": "shape=box",
    "collect": "shape=box, style=rounded",
    "condition": "shape=diamond",
    "identify": "shape=hexagon",
    "outage": "shape=hexagon",
    "callback": "shape=component",
    "unreachable_report": "shape=component",
    "meter_reading": "shape=component",
    "set": "shape=note",
    "play": "shape=ellipse",
    "goto": "shape=cds",
    "route": f"shape=doubleoctagon, {TERMINAL}",
    "hangup": f"shape=octagon, {TERMINAL}",
}
GOTO_FLOW = f'shape=cds, margin="0.25,0.08", {TERMINAL}'


class GraphError(RuntimeError):
    """The flow cannot be drawn or the picture cannot be written; the message says why."""


def quote(text: str) -> str:
    """A DOT double-quoted string: `\\` and `"` escaped, newlines as DOT's `\\n`."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + text.replace("\n", "\\n") + '"'


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "|".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return str(value)


def _prompts(spec: Mapping[str, Any], key: str = "prompt") -> str:
    names = []
    for ref in prompts_of(spec, key):
        if isinstance(ref, str):
            names.append(ref)
        else:
            variant = next(iter(ref.variants.values()))
            names.append(f"♪{variant.name}" if isinstance(variant, Sound) else f'"{variant.text}"')
    return ", ".join(names)


def _tests(spec: Mapping[str, Any]) -> str:
    names: list[str] = []
    for case in spec.get("cases", []):
        names += [str(t) for t in case["if"] if str(t) not in names]
    return ", ".join(names)


def _detail(node: Node) -> list[str]:
    """Short lines saying what the node says or decides."""
    spec = node.spec
    match node.type:
        case "route" | "callback":
            lines = [f"queue {spec['queue']}", f"class {spec['class']}"]
        case "condition":
            lines = [_tests(spec)]
        case "goto":
            lines = [f"→ flow {spec['flow']}" if "flow" in spec else f"→ {spec['node']}"]
        case "collect" | "choose":
            lines = [f"var {spec['var']}", _prompts(spec)]
        case "language":
            lines = [_prompts(spec), ", ".join(f"{k}={v}" for k, v in spec["options"].items())]
        case "unreachable_report" | "meter_reading":
            key = "number" if node.type == "unreachable_report" else "reading"
            lines = [f"{key} {spec[key]}"]
        case "identify":
            lines = [f"by {spec.get('by', 'phone')}"]
        case "set":
            lines = [", ".join(f"{k}={v}" for k, v in spec["vars"].items())]
        case "outage":
            lines = [str(spec.get("service") or "any service"), _prompts(spec)]
        case _:
            lines = [_prompts(spec)]
    return [_short(line) for line in lines if line]


def edge_label(spec: Mapping[str, Any], path: KeyPath) -> str:
    """What takes the caller along a target at `path` (a key path in the node's spec)."""
    if path[0] == "options" and len(path) == 2:
        return str(path[1])
    if path[0] == "cases" and len(path) == 3:
        tests = spec["cases"][int(path[1])]["if"]
        return ", ".join(f"{name}: {_short(_value(v))}" for name, v in tests.items())
    key = str(path[-1])
    if key in ("next", "node"):
        return ""
    return key.removeprefix("on_")


def _fresh(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _find_flow(library: FlowLibrary, flow_name: str) -> Flow:
    flow = library.flows.get(flow_name)
    if flow is None:
        known = ", ".join(sorted(library.flows))
        raise GraphError(f"unknown flow {flow_name!r} (flows: {known})")
    return flow


def _node_line(node: Node, start: str) -> str:
    label = "\n".join([f"{node.id} ({node.type})", *_detail(node)])
    goes_out = node.type == "goto" and "flow" in node.spec
    looks = GOTO_FLOW if goes_out else LOOKS.get(node.type, "shape=ellipse")
    bold = ", penwidth=2.5" if node.id == start else ""
    return f"  {quote(node.id)} [label={quote(label)}, {looks}{bold}];"


def flow_dot(library: FlowLibrary, flow_name: str, link_suffix: str | None = None) -> str:
    """DOT text of one flow; with `link_suffix` (".svg") other flows link to their files."""
    flow = _find_flow(library, flow_name)
    taken = set(flow.nodes)
    start = _fresh("start", taken)
    out = [
        f"digraph {quote(flow.name)} {{",
        '  charset="UTF-8";',
        f"  label={quote(f'flow {flow.name}')}; labelloc=t; fontname={quote(FONT)};",
        f"  node [fontname={quote(FONT)}, fontsize=11];",
        f"  edge [fontname={quote(FONT)}, fontsize=10];",
        f'  {quote(start)} [shape=point, width=0.15, label=""];',
        f"  {quote(start)} -> {quote(flow.start)};",
    ]
    others: dict[str, str] = {}  # other flow -> its node's DOT id
    edges: dict[tuple[str, str], list[str]] = {}  # (from, to) -> labels
    for node in flow.nodes.values():
        out.append(_node_line(node, flow.start))
        for path, target in STEP_TYPES[node.type].check(node.spec).targets.items():
            edges.setdefault((node.id, target), []).append(edge_label(node.spec, path))
        if node.type == "goto" and "flow" in node.spec:
            other = str(node.spec["flow"])
            if other not in others:
                others[other] = _fresh(f"flow {other}", taken)
            edges.setdefault((node.id, others[other]), []).append("")
    for other, dot_id in others.items():
        link = f", URL={quote(file_stem(other) + link_suffix)}" if link_suffix else ""
        label = quote(f"flow {other}")
        out.append(f"  {quote(dot_id)} [label={label}, shape=folder, style=dashed{link}];")
    for (src, dst), labels in edges.items():
        text = "\n".join(label or "next" for label in labels) if any(labels) else ""
        attrs = f" [label={quote(text)}]" if text else ""
        out.append(f"  {quote(src)} -> {quote(dst)}{attrs};")
    out.append("}")
    return "\n".join(out) + "\n"


def file_stem(flow_name: str) -> str:
    """A file name for a flow's picture (any character but letters, digits, - and . is _)."""
    return re.sub(r"[^\w.-]", "_", flow_name).lstrip(".") or "_"


def render_graph(dot_text: str, out: Path, dot: str = "dot") -> None:
    """Write `dot_text` to `out`: .dot as is, .svg and .png rendered by Graphviz's `dot`."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise GraphError(f"{out}: expected a file name ending in {', '.join(FORMATS)}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".dot":
            out.write_text(dot_text, encoding="utf-8")
            return
    except OSError as exc:
        raise GraphError(f"cannot write {out}: {exc.strerror}") from None
    program = shutil.which(dot)
    if program is None:
        raise GraphError(
            f"Graphviz's {dot!r} program is not installed (install the Debian package graphviz)"
        )
    try:
        subprocess.run(
            [program, f"-T{suffix[1:]}", "-o", str(out)],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            check=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip()
        raise GraphError(f"{program} failed to draw {out}: {detail}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphError(f"{program} failed to draw {out}: {exc}") from None

"""`ivr flow graph`: one flow drawn as a Graphviz diagram (DOT text, rendered by `dot`).

A box per node (its id, type and what it says or decides), an arrow per place it can go,
labelled with what takes the caller there: a DTMF key, timeout/invalid, a condition's
tests, else, found/not_found... A goto to another flow points at that flow.
"""

import re
import shutil
import subprocess
from pathlib import Path

from ivr.flow.model import Flow, FlowLibrary, Node
from ivr.flow.steps.base import KeyPath
from ivr.flow.steps.drawing import short

FORMATS = (".svg", ".png", ".dot")
FONT = "DejaVu Sans,Helvetica,Arial,sans-serif"


class GraphError(RuntimeError):
    """The flow cannot be drawn or the picture cannot be written; the message says why."""


def quote(text: str) -> str:
    """A DOT double-quoted string: `\\` and `"` escaped, newlines as DOT's `\\n`."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + text.replace("\n", "\\n") + '"'


def edge_label(node: Node, path: KeyPath) -> str:
    """What takes the caller along a target at `path` (a key path in the node's spec)."""
    return node.step.edge_label(node.checked.config, path)


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
    config = node.checked.config
    detail = [short(line) for line in node.step.detail(config) if line]
    label = "\n".join([f"{node.id} ({node.type})", *detail])
    looks = node.step.looks(config)
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
        for path, target in node.checked.targets.items():
            edges.setdefault((node.id, target), []).append(edge_label(node, path))
        for other in (ref.name for ref in node.checked.refs if ref.kind == "flow"):
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

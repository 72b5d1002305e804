"""Lines (published service numbers): lines.yaml, and lines.csv for long lists.

# lines.csv: one published number a row (header required)
number,sphere,city,published,flow,language
5554000,service,Odesa,leaflet,main,ru
"""

import csv
import io
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ivr.files import UnsafeFile, read_limited
from ivr.flow.model import Flow, Line, Sphere
from ivr.yamlfiles.problems import NOT_UTF8, Located, Problem, Problems, undecodable

LINES_FILE = "lines.yaml"
LINES_CSV = "lines.csv"
LINE_KEYS = ("number", "sphere", "city", "published", "flow", "language")
MAX_CSV_BYTES = 1024 * 1024  # some 30 000 numbers
DIGITS = re.compile(r"[0-9]+")  # str.isdigit() would take "５" or "²"


def parse_lines(
    data: Any,
    problems: Problems,
    flows: Mapping[str, Flow],
    broken: Collection[str],
    languages: Collection[str],
) -> tuple[dict[str, Line], str]:
    """lines.yaml: the default flow and the lines. Names of `broken` flows (reported in
    their own files) are accepted, so one bad flow does not bury lines in follow-on errors."""
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        problems.add((), "expected a mapping with default_flow and a list of lines")
        return {}, ""
    for key in sorted(str(k) for k in data if k not in ("default_flow", "lines")):
        problems.add((key,), "unknown key (expected: default_flow, lines)", at_key=True)
    default_flow = data.get("default_flow")
    if not isinstance(default_flow, str):
        problems.add(("default_flow",), f"expected a flow's name, got {default_flow!r}")
    elif default_flow not in flows and default_flow not in broken:
        problems.add(("default_flow",), f"{default_flow!r} is not a flow ({sorted(flows)})")
    lines: dict[str, Line] = {}
    add_lines(data["lines"], problems, flows, broken, languages, lines)
    return lines, str(default_flow)


def add_lines(
    entries: list[Any],
    problems: Problems,
    flows: Mapping[str, Flow],
    broken: Collection[str],
    languages: Collection[str],
    lines: dict[str, Line],
) -> None:
    """Check each entry and add it to `lines` (a number listed twice is an error)."""
    for index, raw in enumerate(entries):
        where: tuple[str | int, ...] = ("lines", index)
        if not isinstance(raw, dict):
            problems.add(where, "expected a mapping")
            continue
        for key in sorted(str(k) for k in raw if k not in LINE_KEYS):
            problems.add(
                (*where, key), f"unknown key (expected: {', '.join(LINE_KEYS)})", at_key=True
            )
        number = str(raw.get("number", "")).strip()
        if isinstance(raw.get("number"), int):
            problems.add(
                (*where, "number"),
                f"write the number in quotes: unquoted, YAML reads it as {number} "
                "(and a leading 0 as an octal number)",
            )
            continue
        if not DIGITS.fullmatch(number):
            problems.add(
                (*where, "number"), f"expected the dialled digits, got {raw.get('number')!r}"
            )
            continue
        if number in lines:
            problems.add((*where, "number"), f"{number} is listed twice")
        try:
            sphere = Sphere(str(raw.get("sphere")))
        except ValueError:
            problems.add((*where, "sphere"), f"expected one of {[s.value for s in Sphere]}")
            continue
        language = str(raw.get("language") or "")
        if language and language not in languages:
            problems.add((*where, "language"), f"{language!r} is not in prompts.yaml languages")
        flow = raw.get("flow")
        if not isinstance(flow, str):
            problems.add((*where, "flow"), f"expected a flow's name, got {flow!r}")
            continue
        if flow not in flows:
            if flow not in broken:
                problems.add((*where, "flow"), f"{flow!r} is not a flow ({sorted(flows)})")
            continue
        city, published = (str(raw.get(k) or "") for k in ("city", "published"))
        lines[number] = Line(number, sphere, city, published, str(flow), language)


def read_lines_csv(path: Path, problems: Problems) -> list[Any]:
    """The rows of lines.csv as mappings, each value placed at its row and column."""
    located = Located(data=None)
    rows: list[Any] = []
    try:
        # utf-8-sig: spreadsheets save CSV with a byte order mark before `number`.
        text = read_limited(path, MAX_CSV_BYTES, path.parent).decode("utf-8-sig")
    except UnsafeFile as exc:
        problems.add((), str(exc))
        return []
    except OSError as exc:
        problems.add((), f"cannot read: {exc.strerror}")
        return []
    except UnicodeDecodeError as exc:  # e.g. saved by a spreadsheet in Windows-1251
        problems.items.append(Problem(str(path), (), NOT_UTF8, undecodable(exc)))
        return []
    try:
        with io.StringIO(text, newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            located.values[()] = (1, 1)  # problems with the header itself
            for column, name in enumerate(header):
                if name not in LINE_KEYS:  # reported once, at the header, not on every row
                    located.keys[(name or f"column {column + 1}",)] = (1, column + 1)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                index = len(rows)
                located.values[("lines", index)] = (reader.line_num, 1)
                for column, name in enumerate(header):
                    located.values[("lines", index, name)] = (reader.line_num, column + 1)
                cells = zip(header, row, strict=False)
                rows.append({k: v.strip() for k, v in cells if v.strip() and k in LINE_KEYS})
    except csv.Error as exc:
        problems.add((), f"not valid CSV: {exc}")
        return []
    problems.located = located
    for unknown in located.keys:
        problems.add(unknown, f"unknown column (expected: {', '.join(LINE_KEYS)})", at_key=True)
    if "number" not in header:
        problems.add((), f"the first row must name the columns: {','.join(LINE_KEYS)}")
        return []
    return rows

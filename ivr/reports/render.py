"""Report tables and how they print: aligned text for people, CSV for spreadsheets.

Text: percentages as "87.5 %", durations as m:ss (h:mm:ss from an hour), times local,
"-" for a value that does not exist (no calls). CSV: the column keys as the header and raw
numbers (ratios 0..1, seconds, ISO 8601 UTC times), empty for a missing value.

Cells carry caller and operator free text (names, addresses, report details), so both
outputs defuse it: in text, control characters (C0, DEL, C1: ESC sequences, newlines)
become spaces and cannot drive the supervisor's terminal; in CSV, a text cell starting with
= + - @ TAB or CR gets a leading apostrophe, so a spreadsheet shows it as text instead of
running it as a formula (numbers stay numbers).
"""

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

Row = Mapping[str, Any]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would evaluate the cell


class Kind(Enum):
    TEXT = "text"
    COUNT = "count"
    RATIO = "ratio"  # shown as a percentage
    SECONDS = "seconds"  # shown as m:ss
    TIME = "time"  # an aware datetime, shown local


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header and the row's key
    title: str  # the text header
    kind: Kind = Kind.COUNT
    width: int = 0  # text: cut longer values to this many characters (0 = never)
    blank: str = ""  # text: shown for "" (e.g. "(not known)" for a missing queue or line)
    in_text: bool = True  # False: CSV only (keeps the text table narrow)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Row]
    total: Row | None = None  # printed under a rule in text, as the last row in CSV
    empty: str = "no data in this window"

    def all_rows(self) -> list[Row]:
        return [*self.rows, *([self.total] if self.total is not None else [])]


@dataclass(frozen=True)
class Report:
    """One or more tables; CSV takes the one named by `csv_table`."""

    tables: tuple[Table, ...]
    csv_table: int = 0
    notes: tuple[str, ...] = field(default=())


def duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(ratio: float, digits: int = 1) -> str:
    return f"{ratio * 100:.{digits}f} %"


def text_cell(value: Any, column: Column, tz: tzinfo) -> str:
    if value is None:
        return "-"
    if value == "":
        return column.blank
    match column.kind:
        case Kind.RATIO:
            text = percent(value)
        case Kind.SECONDS:
            text = duration(value)
        case Kind.TIME:
            text = f"{value.astimezone(tz):%Y-%m-%d %H:%M}"
        case _:
            # No control characters (ESC sequences, newlines, tabs) inside a cell.
            text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if column.width and len(text) > column.width:
        text = text[: column.width - 1] + "…"
    return text


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, int | Decimal):  # bool included
        return value
    text = str(value)
    # Text a spreadsheet would take for a formula ("=HYPERLINK(...)", "+380...", "-1+2"):
    # a leading apostrophe makes it text.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def render_text(report: Report, tz: tzinfo) -> str:
    """The tables, a blank line between them, then the notes."""
    blocks = [*(_text_table(table, tz) for table in report.tables)]
    if report.notes:
        blocks.append(list(report.notes))
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _text_table(table: Table, tz: tzinfo) -> list[str]:
    lines = [table.title, ""]
    if not table.rows:
        return [*lines, f"({table.empty})"]
    columns = [c for c in table.columns if c.in_text]
    headers = [c.title for c in columns]
    body = [[text_cell(row.get(c.key), c, tz) for c in columns] for row in table.rows]
    total = (
        [text_cell(table.total.get(c.key), c, tz) for c in columns]
        if table.total is not None
        else None
    )
    widths = [
        max(len(cell) for cell in column)
        for column in zip(headers, *body, *([total] if total else []), strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        out = [
            cell.ljust(width) if column.kind in (Kind.TEXT, Kind.TIME) else cell.rjust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines += [line(headers), rule, *(line(r) for r in body)]
    if total is not None:
        lines += [rule, line(total)]
    return lines


def render_csv(report: Report) -> str:
    table = report.tables[report.csv_table]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(c.key for c in table.columns)
    for row in table.all_rows():
        writer.writerow(csv_cell(row.get(c.key)) for c in table.columns)
    return out.getvalue()

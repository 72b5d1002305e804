"""Text tables for people and CSV with raw numbers."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.reports.render import (
    Column,
    Kind,
    Report,
    Table,
    csv_cell,
    duration,
    percent,
    render_csv,
    render_text,
    text_cell,
)

KYIV = ZoneInfo("Europe/Kyiv")
COLUMNS = (
    Column("queue", "Queue", Kind.TEXT, blank="(not known)"),
    Column("answered", "Answered"),
    Column("service_level", "Service level", Kind.RATIO),
    Column("asa_seconds", "ASA", Kind.SECONDS),
    Column("at", "When", Kind.TIME),
    Column("note", "Note", Kind.TEXT, width=8),
    Column("secret", "Secret", Kind.TEXT, in_text=False),
)
ROWS = [
    {
        "queue": "internet",
        "answered": 120,
        "service_level": 0.875,
        "asa_seconds": 12.4,
        "at": datetime(2026, 11, 24, 8, 5, tzinfo=UTC),
        "note": "line one\nline two",
        "secret": "s1",
    },
    {
        "queue": "",
        "answered": 0,
        "service_level": None,
        "asa_seconds": None,
        "at": None,
        "note": "",
        "secret": "s2",
    },
]
TOTAL = {"queue": "all", "answered": 120, "service_level": 2 / 3, "asa_seconds": 3725.0}
REPORT = Report((Table("Title", COLUMNS, ROWS, TOTAL),), notes=("A note.",))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (9.6, "0:10"), (75, "1:15"), (599.4, "9:59"), (3600, "1:00:00"),
     (3725, "1:02:05"), (90061, "25:01:01")],
)  # fmt: skip
def test_durations_read_as_m_ss(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_percentages() -> None:
    assert percent(0.875) == "87.5 %"
    assert percent(1.0) == "100.0 %"
    assert percent(0.8, 0) == "80 %"


def test_text_table_is_aligned_with_a_total_under_a_rule() -> None:
    assert render_text(REPORT, KYIV) == (
        "Title\n"
        "\n"
        "Queue        Answered  Service level      ASA  When              Note\n"
        "-----------  --------  -------------  -------  ----------------  --------\n"
        "internet          120         87.5 %     0:12  2026-11-24 10:05  line on…\n"
        "(not known)         0              -        -  -\n"
        "-----------  --------  -------------  -------  ----------------  --------\n"
        "all               120         66.7 %  1:02:05  -                 -\n"
        "\n"
        "A note.\n"
    )


def test_csv_has_keys_raw_numbers_and_utc_times() -> None:
    assert render_csv(REPORT) == (
        "queue,answered,service_level,asa_seconds,at,note,secret\n"
        'internet,120,0.875,12.4,2026-11-24T08:05:00+00:00,"line one\nline two",s1\n'
        ",0,,,,,s2\n"
        "all,120,0.6667,3725.0,,,\n"
    )


def test_an_empty_table_says_so_and_two_tables_are_apart() -> None:
    report = Report(
        (Table("First", COLUMNS, []), Table("Second", COLUMNS[:2], [{"queue": "tv"}])),
        csv_table=1,
    )
    assert render_text(report, KYIV) == (
        "First\n\n(no data in this window)\n\nSecond\n\nQueue  Answered\n-----  --------\ntv"
        "            -\n"
    )
    assert render_csv(report) == "queue,answered\ntv,\n"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","ok")', '\'=HYPERLINK("http://x","ok")'),
        ("+380441234567", "'+380441234567"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("a=b+c", "a=b+c"),  # only the first character matters
        ("380441234567", "380441234567"),
        (" =1", " =1"),
        ("", ""),
        # Numbers stay numbers, negative ones too.
        (-5, -5),
        (-0.123456, -0.1235),
        (Decimal("-1.5"), Decimal("-1.5")),
        (True, True),
    ],
)
def test_csv_text_cannot_start_a_formula(value: Any, cell: Any) -> None:
    assert csv_cell(value) == cell


def test_csv_neutralises_formulas_from_free_text() -> None:
    columns = (Column("caller", "Caller", Kind.TEXT), Column("details", "Details", Kind.TEXT))
    rows = [
        {"caller": "+380501234567", "details": '=cmd|" /C calc"!A0'},
        {"caller": "-", "details": "@evil"},
    ]
    total = {"caller": "all", "details": -3}
    report = Report((Table("Unreachable", columns, rows, total),))
    assert render_csv(report) == (
        'caller,details\n\'+380501234567,"\'=cmd|"" /C calc""!A0"\n\'-,\'@evil\nall,-3\n'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("ok\x1b[2J\x1b]0;owned\x07end", "ok [2J ]0;owned end"),  # ESC, BEL
        ("csi\x9b31mred", "csi 31mred"),  # C1 CSI
        ("nul\x00del\x7fnel\x85", "nul del nel"),
        ("line one\r\nline two\ttab", "line one line two tab"),
        ("Марія Сидоренко", "Марія Сидоренко"),
    ],
)
def test_text_cells_carry_no_control_characters(value: str, text: str) -> None:
    assert text_cell(value, Column("note", "Note", Kind.TEXT), UTC) == text


def test_text_table_cannot_reach_the_terminal_with_escape_sequences() -> None:
    columns = (Column("caller", "Caller", Kind.TEXT), Column("details", "Details", Kind.TEXT))
    rows = [{"caller": "\x1b[31m+380\x1b[0m", "details": "\x1b]52;c;cHduZWQ=\x07\x9b2J"}]
    out = render_text(Report((Table("Unreachable", columns, rows),)), UTC)
    assert not [c for c in out if c != "\n" and (c < " " or "\x7f" <= c <= "\x9f")]
    assert out.splitlines()[-1] == "[31m+380 [0m  ]52;c;cHduZWQ= 2J"

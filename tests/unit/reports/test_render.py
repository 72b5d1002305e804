"""Text tables for people and CSV with raw numbers."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.reports.render import (
    Column,
    Kind,
    Report,
    Table,
    duration,
    percent,
    render_csv,
    render_text,
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

"""`ivr report` rows from a seeded store, on SQLite and PostgreSQL, against numbers counted
by hand (see tests/unit/reports/seed.py)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.reports.render import render_csv, render_text
from ivr.reports.tables import (
    Labels,
    agents_report,
    line_rows,
    lines_report,
    sla_report,
    unreachable_report,
)
from ivr.storage.kpi import KpiRepository
from ivr.storage.reports import ReportRepository
from ivr.storage.service_level import ServiceLevelRepository
from tests.unit.reports.seed import DAY, KYIV, seed

LABELS = Labels(
    cities={"5551000": "Kyiv", "5553000": "Lviv", "5554000": "Одеса"},
    agents={"1001": "Олена Коваленко", "1002": "Андрій Шевченко"},
    target="20 s",
)


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    seed(sessions)
    return sessions


def rounded(row: dict[str, object]) -> dict[str, object]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}


def test_sla_by_queue_rows_and_overall(seeded: sessionmaker[Session]) -> None:
    report = sla_report(ServiceLevelRepository(seeded), DAY, "queue", LABELS)
    (table,) = report.tables
    assert [rounded(dict(r)) for r in table.rows] == [
        {
            "queue": "internet",
            "offered": 4,
            "answered": 3,
            "within_target": 2,
            "abandoned": 1,
            "abandoned_after_target": 0,
            "service_level": round(2 / 3, 6),
            "asa_seconds": 25.0,
            "average_talk_seconds": round(560 / 3, 6),
            "abandon_rate": 0.25,
            "over_guideline": 1,
        },
        {
            "queue": "tv",
            "offered": 2,
            "answered": 1,
            "within_target": 1,
            "abandoned": 1,
            "abandoned_after_target": 1,
            "service_level": 0.5,
            "asa_seconds": 8.0,
            "average_talk_seconds": 200.0,
            "abandon_rate": 0.5,
            "over_guideline": 0,
        },
    ]
    assert table.total is not None
    assert rounded(dict(table.total)) == {
        "queue": "all",
        "offered": 6,
        "answered": 4,
        "within_target": 3,
        "abandoned": 2,
        "abandoned_after_target": 1,
        "service_level": 0.6,
        "asa_seconds": 20.75,
        "average_talk_seconds": 190.0,
        "abandon_rate": round(1 / 3, 6),
        "over_guideline": 1,
    }


def test_sla_csv_is_exact(seeded: sessionmaker[Session]) -> None:
    report = sla_report(ServiceLevelRepository(seeded), DAY, "queue", LABELS)
    assert render_csv(report) == (
        "queue,offered,answered,within_target,abandoned,abandoned_after_target,"
        "service_level,asa_seconds,average_talk_seconds,abandon_rate,over_guideline\n"
        "internet,4,3,2,1,0,0.6667,25.0,186.6667,0.25,1\n"
        "tv,2,1,1,1,1,0.5,8.0,200.0,0.5,0\n"
        "all,6,4,3,2,1,0.6,20.75,190.0,0.3333,1\n"
    )


def test_sla_by_line_has_the_city(seeded: sessionmaker[Session]) -> None:
    report = sla_report(ServiceLevelRepository(seeded), DAY, "line", LABELS)
    text = render_text(report, KYIV)
    lines = text.splitlines()
    assert lines[0] == "Service level by line, 2026-11-24 (Europe/Kyiv)"
    assert lines[2].split() == [
        "Line", "City", "Offered", "Answered", "In", "target", "Abandoned", "Abandoned",
        "late", "Service", "level", "ASA", "Avg", "talk", "Abandon", "rate", "Over",
        "guideline",
    ]  # fmt: skip
    assert lines[4].split() == [
        "5551000", "Kyiv", "4", "3", "2", "1", "0", "66.7", "%", "0:25", "3:07", "25.0", "%",
        "1",
    ]  # fmt: skip
    assert lines[5].split() == [
        "5553000", "Lviv", "2", "1", "1", "1", "1", "50.0", "%", "0:08", "3:20", "50.0", "%",
        "0",
    ]  # fmt: skip
    assert lines[7].split() == [
        "all", "6", "4", "3", "2", "1", "60.0", "%", "0:21", "3:10", "33.3", "%", "1",
    ]  # fmt: skip
    assert "answered within 20 s" in lines[-1]


def test_lines_merge_calls_and_reports(seeded: sessionmaker[Session]) -> None:
    rows, total = line_rows(ServiceLevelRepository(seeded), ReportRepository(seeded), DAY, LABELS)
    assert [
        (r["line"], r["city"], r["offered"], r["service_level"], r["unreachable_reports"])
        for r in rows
    ] == [
        ("5551000", "Kyiv", 4, pytest.approx(2 / 3), 0),
        ("5553000", "Lviv", 2, 0.5, 1),
        ("5554000", "Одеса", 0, None, 3),  # "555-4000" and "5554000" are one line
    ]
    assert (total["line"], total["offered"], total["unreachable_reports"]) == ("all", 6, 4)
    csv = render_csv(lines_report(rows, total, DAY))
    assert csv == (
        "line,city,offered,answered,service_level,asa_seconds,abandon_rate,over_guideline,"
        "unreachable_reports\n"
        "5551000,Kyiv,4,3,0.6667,25.0,0.25,1,0\n"
        "5553000,Lviv,2,1,0.5,8.0,0.5,0,1\n"
        "5554000,Одеса,0,0,,,,0,3\n"
        "all,,6,4,0.6,20.75,0.3333,1,4\n"
    )


def test_unreachable_counts_then_reports_newest_first(seeded: sessionmaker[Session]) -> None:
    report = unreachable_report(ReportRepository(seeded), DAY, LABELS)
    counts, details = report.tables
    assert [dict(r) for r in counts.rows] == [
        {"line": "5554000", "city": "Одеса", "reports": 3},
        {"line": "5553000", "city": "Lviv", "reports": 1},
    ]
    assert [(r["call_id"], r["reported_line"], r["full_name"]) for r in details.rows] == [
        ("r3", "5554000", "Марія Сидоренко"),
        ("r4", "5553000", None),
        ("r2", "5554000", None),
        ("r1", "5554000", "Петро Іваненко"),
    ]
    csv = render_csv(report).splitlines()
    assert csv[0] == (
        "created_at,reported_line,city,problem,published,dialled_from,via_line,source,caller,"
        "full_name,contract,address,details,status,call_id"
    )
    assert csv[1] == (  # the "+" phones are text to a spreadsheet, not a formula
        "2026-11-24T10:00:00+00:00,5554000,Одеса,no_answer,leaflet,'+380671112233,5551000,ivr,"
        "'+380501234567,Марія Сидоренко,,,довго грає музика,new,r3"
    )
    assert len(csv) == 5
    text = render_text(report, KYIV)
    assert "2026-11-24 12:00  5554000  Одеса  no_answer" in text  # local time
    assert "Марія Сидоренко" in text


def test_agents_rows(seeded: sessionmaker[Session]) -> None:
    stats = KpiRepository(seeded).agents(DAY.since, DAY.until)
    report = agents_report(stats, DAY, LABELS)
    (table,) = report.tables
    assert [rounded(dict(r)) for r in table.rows] == [
        {
            "agent": "1001",
            "name": "Олена Коваленко",
            "answered": 2,
            "talk_seconds": 160.0,
            "average_talk_seconds": 80.0,
            "occupancy": round(1 / 6, 6),
            "logged_in_seconds": 14400.0,
            "not_ready_seconds": 3600.0,
            "ringing_seconds": 10.0,
            "rings": 2,
            "missed_rings": 1,
        },
        {
            "agent": "1002",
            "name": "Андрій Шевченко",
            "answered": 2,
            "talk_seconds": 600.0,
            "average_talk_seconds": 300.0,
            "occupancy": round(1 / 15, 6),
            "logged_in_seconds": 54000.0,
            "not_ready_seconds": 0.0,
            "ringing_seconds": 3.0,
            "rings": 1,
            "missed_rings": 0,
        },
    ]
    text = render_text(report, KYIV).splitlines()
    assert text[4].split() == [
        "1001", "Олена", "Коваленко", "2", "2:40", "1:20", "16.7", "%", "4:00:00", "1:00:00",
        "0:10", "2", "1",
    ]  # fmt: skip


def test_an_empty_window_says_so(seeded: sessionmaker[Session]) -> None:
    from ivr.reports.window import Window

    empty = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), KYIV)
    text = render_text(sla_report(ServiceLevelRepository(seeded), empty, "queue"), KYIV)
    assert "(no data in this window)" in text
    assert render_csv(sla_report(ServiceLevelRepository(seeded), empty, "queue")) == (
        "queue,offered,answered,within_target,abandoned,abandoned_after_target,"
        "service_level,asa_seconds,average_talk_seconds,abandon_rate,over_guideline\n"
    )

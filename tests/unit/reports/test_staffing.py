"""Staffing rows from hours: handle times, goals per queue, cut hours, unknown queues."""

from datetime import UTC, datetime, timedelta

import yaml

from ivr.queues.model import parse_queues
from ivr.reports.erlang import agents_needed
from ivr.reports.staffing import goals_label, staffing_rows
from ivr.reports.tables import staffing_report
from ivr.reports.window import Window
from ivr.storage.staffing import QueueCalls, StaffingHour
from tests.unit.queues.yaml_cases import edit

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
CONFIG = parse_queues(
    yaml.safe_load(
        edit(("  a: {title: A}", "  a: {title: A, service_level_goal: 90, answer_target: 10}"))
    )
)


def hour(n: int, minutes: float = 60, **queues: QueueCalls) -> StaffingHour:
    start = T0 + timedelta(hours=n)
    return StaffingHour(f"h{n}", start, start + timedelta(minutes=minutes), dict(queues), 3.5, 4)


def test_each_queue_with_its_own_goal_target_and_wrapup_then_added_up() -> None:
    a, b = CONFIG.queues["a"], CONFIG.queues["b"]
    (row,) = staffing_rows(
        [hour(0, a=QueueCalls(100, 90, 90, 90 * 175.0), b=QueueCalls(40, 40, 40, 40 * 295.0))],
        CONFIG,
    )
    need_a = agents_needed(100, 175 + a.wrapup, 10, 0.9)
    need_b = agents_needed(40, 295 + b.wrapup, 20, 0.8)
    assert row.needed == need_a.agents + need_b.agents
    assert row.erlangs == need_a.traffic + need_b.traffic
    assert row.handle_seconds == (100 * (175 + a.wrapup) + 40 * (295 + b.wrapup)) / 140
    assert (row.offered, row.logged_in_average, row.logged_in_max) == (140, 3.5, 4)
    assert row.gap == row.needed - 3.5


def test_an_hour_without_ended_calls_takes_the_windows_talk_time() -> None:
    rows = staffing_rows(
        [hour(0, a=QueueCalls(10, 10, 10, 10 * 100.0)), hour(1, a=QueueCalls(10, 2, 0, 0.0))],
        CONFIG,
    )
    assert rows[1].handle_seconds == rows[0].handle_seconds
    assert rows[1].needed == rows[0].needed


def test_no_talk_time_in_the_whole_window_leaves_the_need_unknown() -> None:
    (row,) = staffing_rows([hour(0, a=QueueCalls(3, 0, 0, 0.0))], CONFIG)
    assert (row.offered, row.needed, row.gap, row.handle_seconds) == (3, None, None, None)


def test_a_cut_hour_is_scaled_to_an_hourly_rate() -> None:
    whole, cut = staffing_rows(
        [
            hour(0, a=QueueCalls(100, 100, 100, 18_000.0)),
            hour(1, 30, a=QueueCalls(50, 50, 50, 9_000.0)),
        ],
        CONFIG,
    )
    assert cut.needed == whole.needed and cut.erlangs == whole.erlangs


def test_a_queue_gone_from_queues_yaml_counts_with_the_fallback_queues_settings() -> None:
    calls = QueueCalls(200, 200, 200, 200 * 200.0)
    gone, fallback, other = staffing_rows(
        [hour(0, old=calls), hour(1, a=calls), hour(2, b=calls)], CONFIG
    )
    assert CONFIG.fallback_queue == "a"
    assert gone.needed == fallback.needed != other.needed  # a: 90 % in 10 s; b: 80 % in 20 s


def test_goals_label() -> None:
    assert goals_label(CONFIG) == "80 % within 20 s, 90 % within 10 s"
    assert goals_label(CONFIG, "a") == "90 % within 10 s"


def test_the_table_leaves_out_hours_with_no_calls_and_nobody_logged_in() -> None:
    idle = StaffingHour("h1", T0 + timedelta(hours=1), T0 + timedelta(hours=2), {}, 0.0, 0)
    staffed = StaffingHour("h2", T0 + timedelta(hours=2), T0 + timedelta(hours=3), {}, 1.0, 1)
    rows = staffing_rows([hour(0, a=QueueCalls(10, 10, 10, 10 * 60.0)), idle, staffed], CONFIG)
    report = staffing_report(rows, Window(T0, T0 + timedelta(hours=3), UTC), "80 % within 20 s")

    assert [row["hour"] for row in report.tables[0].rows] == ["h0", "h2"]
    assert "1 hours with no calls and nobody logged in not shown." in report.notes


def test_calls_with_no_talk_and_no_wrapup_still_count_one_second_each() -> None:
    zero = parse_queues(yaml.safe_load(edit(("  a: {title: A}", "  a: {title: A, wrapup: 0}"))))
    (row,) = staffing_rows([hour(0, a=QueueCalls(30, 30, 30, 0.0))], zero)
    assert row.handle_seconds == 1.0
    assert row.needed == agents_needed(30, 1.0, 20, 0.8).agents

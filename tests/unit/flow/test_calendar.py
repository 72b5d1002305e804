"""Opening hours: days, clock times, overnight ranges, holidays, time zones."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.flow.calendar import (
    ALWAYS,
    Calendar,
    Schedule,
    TimeRange,
    parse_calendar,
    parse_clock,
    parse_days,
    parse_range,
)
from ivr.yamlfiles.problems import Problems, load_located

KYIV = ZoneInfo("Europe/Kyiv")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calendar(text: str) -> tuple[Calendar, list[str]]:
    problems = Problems("calendar.yaml", load_located(text))
    result = parse_calendar(problems.located.data if problems.located else None, problems)
    return result, [str(p) for p in problems.items]


def hours(schedules: str, holidays: str = "[]") -> Calendar:
    result, found = calendar(
        f"timezone: Europe/Kyiv\nholidays: {holidays}\nschedules:\n{schedules}"
    )
    assert found == []
    return result


# --- parse_days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon", {0}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("mon-sat", {0, 1, 2, 3, 4, 5}),
        ("sat,sun", {5, 6}),
        ("sat-mon", {5, 6, 0}),  # wraps around the week
        ("fri-tue", {4, 5, 6, 0, 1}),
        ("sun-sun", {6}),
        ("mon,wed-thu", {0, 2, 3}),
        ("daily", {0, 1, 2, 3, 4, 5, 6}),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("weekends", {5, 6}),
        (" Mon-Fri ", {0, 1, 2, 3, 4}),
        ("SAT, SUN", {5, 6}),
    ],
)
def test_parse_days(text: str, days: set[int]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize(
    "text", ["", "funday", "mon-fry", "mon-", "-fri", "mon-tue-wed", "mon,,tue", "1-5", "monday"]
)
def test_parse_days_rejects(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_days(text)
    assert str(info.value) == f"{text!r}: expected days like mon-sat, sat,sun or daily"


# --- parse_clock and parse_range ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minute"),
    [("00:00", 0), ("08:00", 480), ("8:00", 480), ("21:59", 1319), ("24:00", 1440)],
)
def test_parse_clock(text: str, minute: int) -> None:
    assert parse_clock(text) == minute


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25:00", "'25:00' is not a time of day (00:00-24:00)"),
        ("08:60", "'08:60' is not a time of day (00:00-24:00)"),
        ("24:01", "'24:01' is not a time of day (00:00-24:00)"),
        ("8", "'8' is not a time (HH:MM)"),
        ("08:0", "'08:0' is not a time (HH:MM)"),
        ("08.00", "'08.00' is not a time (HH:MM)"),
        ("ab:cd", "'ab:cd' is not a time (HH:MM)"),
        ("", "'' is not a time (HH:MM)"),
    ],
)
def test_parse_clock_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_clock(text)
    assert str(info.value) == message


def test_parse_range() -> None:
    assert parse_range("08:00-22:00") == TimeRange(480, 1320)
    assert not parse_range("08:00-22:00").overnight
    assert parse_range(" 22:00 - 08:00 ") == TimeRange(1320, 480)
    assert parse_range("22:00-08:00").overnight


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8-22", "'8' is not a time (HH:MM)"),
        ("08:00-25:00", "'25:00' is not a time of day (00:00-24:00)"),
        ("08:00-08:00", "'08:00-08:00' is an empty range"),
        ("24:00-08:00", "'24:00-08:00' is an empty range"),
        ("", "'': expected a range like 08:00-22:00"),
        ("08:00", "'08:00': expected a range like 08:00-22:00"),
        ("08:00-12:00-14:00", "'08:00-12:00-14:00': expected a range like 08:00-22:00"),
        (800, "800: expected a range like 08:00-22:00"),
    ],
)
def test_parse_range_rejects(text: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_range(text)
    assert str(info.value) == message


def test_whole_day() -> None:
    whole = parse_range("00:00-24:00")
    assert all(whole.covers(m, after_midnight=False) for m in range(24 * 60))
    assert not any(whole.covers(m, after_midnight=True) for m in range(24 * 60))


def test_until_midnight_does_not_spill_into_the_next_day() -> None:
    late = parse_range("22:00-24:00")
    assert late.covers(23 * 60 + 59, after_midnight=False)
    assert not late.covers(21 * 60 + 59, after_midnight=False)
    assert not late.covers(0, after_midnight=True)


def test_overnight_range_covers_both_days() -> None:
    night = parse_range("22:00-08:00")
    assert night.covers(22 * 60, after_midnight=False)
    assert not night.covers(21 * 60 + 59, after_midnight=False)
    assert not night.covers(7 * 60, after_midnight=False)
    assert night.covers(7 * 60 + 59, after_midnight=True)
    assert not night.covers(8 * 60, after_midnight=True)
    assert not parse_range("08:00-22:00").covers(60, after_midnight=True)


# --- is_open -----------------------------------------------------------------------------

OPERATORS = '  operators: {mon-sat: "08:00-22:00"}\n'


def test_time_zone_conversion() -> None:
    cal = hours(OPERATORS)
    assert not cal.is_open("operators", at(2026, 11, 23, 5, 30))  # Monday 07:30 in Kyiv
    assert cal.is_open("operators", at(2026, 11, 23, 6, 0))  # Monday 08:00 in Kyiv
    assert cal.is_open("operators", at(2026, 11, 23, 19, 59))  # 21:59
    assert not cal.is_open("operators", at(2026, 11, 23, 20, 0))  # 22:00
    assert cal.local(at(2026, 11, 23, 6, 0)).hour == 8


def test_days_are_local_days() -> None:
    cal = hours(OPERATORS)
    assert not cal.is_open("operators", at(2026, 11, 29, 10))  # Sunday noon
    assert cal.is_open("operators", at(2026, 11, 28, 10))  # Saturday noon
    # Saturday 21:30 UTC is Saturday 23:30 in Kyiv: closed; Sunday 06:30 UTC is 08:30 Sunday
    assert not cal.is_open("operators", at(2026, 11, 29, 6, 30))


def test_daylight_saving_day() -> None:
    cal = hours('  every_day: {daily: "08:00-22:00"}\n')
    # 2026-03-29: Kyiv moves from UTC+2 to UTC+3 at 03:00
    assert not cal.is_open("every_day", at(2026, 3, 29, 4, 59))  # 07:59 EEST
    assert cal.is_open("every_day", at(2026, 3, 29, 5, 0))  # 08:00 EEST
    assert cal.is_open("every_day", at(2026, 3, 28, 6, 0))  # 08:00 EET, the day before
    assert not cal.is_open("every_day", at(2026, 3, 28, 5, 0))  # 07:00 EET


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(2026, 11, 27, 19, 59), False),  # Friday 21:59
        (at(2026, 11, 27, 20, 0), True),  # Friday 22:00
        (at(2026, 11, 27, 22, 30), True),  # Saturday 00:30: Friday's range
        (at(2026, 11, 28, 5, 59), True),  # Saturday 07:59
        (at(2026, 11, 28, 6, 0), False),  # Saturday 08:00
        (at(2026, 11, 28, 21, 0), False),  # Saturday 23:00: no range starts on Saturday
        (at(2026, 11, 29, 1, 0), False),  # Sunday 03:00
        (at(2026, 11, 29, 21, 0), False),  # Sunday 23:00
        (at(2026, 11, 30, 1, 0), False),  # Monday 03:00: Sunday has no range
        (at(2026, 11, 30, 21, 0), True),  # Monday 23:00
        (at(2026, 12, 1, 1, 0), True),  # Tuesday 03:00: Monday's range
    ],
)
def test_overnight_range_belongs_to_the_day_it_starts(instant: datetime, expected: bool) -> None:
    cal = hours('  night: {mon-fri: "22:00-08:00"}\n')
    assert cal.is_open("night", instant) is expected


def test_holidays_close_unless_the_schedule_says_open() -> None:
    cal = hours(
        OPERATORS + '  meters: {daily: "00:00-24:00", holidays: open}\n',
        holidays="[2026-12-25]",
    )
    christmas_noon = at(2026, 12, 25, 10)  # a Friday
    assert not cal.is_open("operators", christmas_noon)
    assert cal.is_open("meters", christmas_noon)
    assert cal.is_open("operators", at(2026, 12, 24, 10))
    assert cal.is_holiday(christmas_noon)
    assert not cal.is_holiday(at(2026, 12, 24, 10))


def test_holidays_closed_is_the_default_spelled_out() -> None:
    cal = hours('  o: {daily: "08:00-22:00", holidays: closed}\n', holidays="[2026-12-25]")
    assert not cal.is_open("o", at(2026, 12, 25, 10))


def test_holiday_is_the_local_date() -> None:
    cal = hours(OPERATORS, holidays="[2027-01-01]")
    assert cal.is_holiday(at(2026, 12, 31, 22, 30))  # 00:30 on Jan 1 in Kyiv
    assert not cal.is_holiday(at(2026, 12, 31, 21, 30))


def test_an_overnight_range_follows_the_holiday_of_its_start_day() -> None:
    cal = hours('  night: {daily: "22:00-08:00"}\n', holidays="[2026-12-25]")
    assert not cal.is_open("night", at(2026, 12, 25, 21))  # Christmas 23:00
    assert not cal.is_open("night", at(2026, 12, 26, 1))  # 03:00 after Christmas night
    assert cal.is_open("night", at(2026, 12, 25, 1))  # 03:00 on Christmas: started on the 24th
    assert cal.is_open("night", at(2026, 12, 26, 21))


def test_several_ranges_a_day() -> None:
    cal = hours('  split: {mon-fri: ["08:00-12:00", "13:00-17:00"], sat: "10:00-14:00"}\n')
    assert cal.is_open("split", at(2026, 11, 24, 9))  # Tuesday 11:00
    assert not cal.is_open("split", at(2026, 11, 24, 10, 30))  # 12:30: lunch
    assert cal.is_open("split", at(2026, 11, 24, 11))  # 13:00
    assert cal.is_open("split", at(2026, 11, 28, 11))  # Saturday 13:00
    assert not cal.is_open("split", at(2026, 11, 28, 12))  # Saturday 14:00


def test_ranges_of_overlapping_day_keys_add_up() -> None:
    cal = hours('  o: {mon-fri: "08:00-12:00", tue: "14:00-16:00"}\n')
    assert cal.schedules["o"].ranges[1] == (TimeRange(480, 720), TimeRange(840, 960))
    assert cal.schedules["o"].ranges[0] == (TimeRange(480, 720),)


# --- calendar.yaml problems --------------------------------------------------------------


def test_a_good_calendar() -> None:
    cal, found = calendar(
        "timezone: Europe/Kyiv\nholidays: [2026-01-01, '2026-01-07']\nschedules:\n" + OPERATORS
    )
    assert found == []
    assert cal.timezone == KYIV
    assert cal.holidays == {date(2026, 1, 1), date(2026, 1, 7)}
    assert cal.schedules["operators"] == Schedule(
        {d: (TimeRange(480, 1320),) for d in range(6)}, open_on_holidays=False
    )


def test_an_empty_calendar_is_utc_without_schedules() -> None:
    cal, found = calendar("")
    assert found == []
    assert cal == Calendar(ZoneInfo("UTC"), frozenset(), {})
    assert ALWAYS == cal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "timezone: Europe/Kiyv\n",
            "calendar.yaml:1:11: timezone: unknown time zone 'Europe/Kiyv' (e.g. Europe/Kyiv)",
        ),
        (
            "timezone: /etc/passwd\n",
            "calendar.yaml:1:11: timezone: unknown time zone '/etc/passwd' (e.g. Europe/Kyiv)",
        ),
        (
            "holidays: [2026-01-01, '2026-02-30']\n",
            "calendar.yaml:1:24: holidays[1]: '2026-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            "holidays: [2026-01-01 10:00:00]\n",
            "calendar.yaml:1:12: holidays[0]: datetime.datetime(2026, 1, 1, 10, 0) is not a "
            "date (YYYY-MM-DD)",
        ),
        (
            "holidays: 2026-01-01\n",
            "calendar.yaml:1:11: holidays: expected a list of dates, e.g. [2026-01-01, 2026-12-25]",
        ),
        (
            "holiday: [2026-01-01]\n",
            "calendar.yaml:1:1: holiday: unknown key (expected: holidays, schedules, timezone)",
        ),
        (
            "schedules: [operators]\n",
            "calendar.yaml:1:12: schedules: expected a mapping of schedule name to its hours",
        ),
        (
            'schedules:\n  operators: "08:00-22:00"\n',
            "calendar.yaml:2:14: schedules.operators: expected days mapped to hours, e.g. "
            '{mon-sat: "08:00-22:00"}',
        ),
        (
            'schedules:\n  operators: {mon-sat: "08:00-22:00", holidays: sometimes}\n',
            "calendar.yaml:2:49: schedules.operators.holidays: expected open or closed",
        ),
        (
            'schedules:\n  operators: {mon-fry: "08:00-22:00"}\n',
            "calendar.yaml:2:24: schedules.operators.mon-fry: 'mon-fry': expected days like "
            "mon-sat, sat,sun or daily",
        ),
        (
            'schedules:\n  night: {daily: "25:00-08:00"}\n',
            "calendar.yaml:2:18: schedules.night.daily: '25:00' is not a time of day (00:00-24:00)",
        ),
        (
            "schedules:\n  night: {daily: 8-22}\n",
            "calendar.yaml:2:18: schedules.night.daily: '8' is not a time (HH:MM)",
        ),
        (
            "- timezone: UTC\n",
            "calendar.yaml:1:1: expected a mapping with timezone, holidays and schedules",
        ),
    ],
)
def test_calendar_problems(text: str, expected: str) -> None:
    _, found = calendar(text)
    assert found == [expected]


def test_a_bad_schedule_entry_does_not_drop_the_good_ones() -> None:
    cal, found = calendar('schedules:\n  o: {mon-fri: "08:00-18:00", sun: "25:00-26:00"}\n')
    assert len(found) == 1
    assert set(cal.schedules["o"].ranges) == {0, 1, 2, 3, 4}

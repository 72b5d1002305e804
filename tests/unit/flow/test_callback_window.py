"""The callback window: first dial and promise inside operator hours (Europe/Kyiv, Mon-Sat
08:00-22:00, holidays closed), at the edges: just before closing, at closing, after hours,
over a weekend and a holiday, across the DST changes, never open."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ivr.flow.calendar import Calendar, parse_calendar
from ivr.flow.callback_window import (
    CallbackWindow,
    NeverOpen,
    callback_window,
    promise_window,
    said_time,
)
from ivr.yamlfiles.problems import Problems

HALF_HOUR = timedelta(minutes=30)


def calendar(**schedules: Any) -> Calendar:
    problems = Problems("calendar.yaml")
    data = {
        "timezone": "Europe/Kyiv",
        "holidays": ["2026-12-25"],
        "schedules": {"operators": {"mon-sat": "08:00-22:00"}, **schedules},
    }
    parsed = parse_calendar(data, problems)
    assert not problems.items, problems.items
    return parsed


def kyiv(text: str) -> datetime:
    """A local time in Kyiv, as an aware UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=calendar().timezone).astimezone(UTC)


def window(at: str, promise: timedelta = HALF_HOUR, schedule: str = "operators", **kw: Any):  # type: ignore[no-untyped-def]
    return callback_window(calendar(**kw), schedule, kyiv(at), promise)


def test_open_with_time_to_spare_dials_now_and_promises_the_interval() -> None:
    now = kyiv("2026-12-07 10:00")  # a Monday
    assert window("2026-12-07 10:00") == CallbackWindow(now, now + HALF_HOUR, None)


def test_the_promise_ends_exactly_at_closing() -> None:
    got = window("2026-12-07 21:30")
    assert (got.dial_from, got.promised_by, got.after_hours) == (
        kyiv("2026-12-07 21:30"),
        kyiv("2026-12-07 22:00"),
        False,
    )


def test_just_before_closing_the_rest_of_the_interval_is_taken_from_the_next_opening() -> None:
    """Saturday 21:50: 10 minutes today, Sunday closed, 20 minutes from Monday 08:00."""
    got = window("2026-12-12 21:50")
    assert got.dial_from == kyiv("2026-12-12 21:50")  # still open: dialled now
    assert got.promised_by == kyiv("2026-12-14 08:20")
    assert not got.after_hours


def test_at_closing_time_it_is_closed_and_promised_for_the_next_opening() -> None:
    got = window("2026-12-07 22:00")
    assert got.opens_at == got.dial_from == kyiv("2026-12-08 08:00")
    assert got.promised_by == kyiv("2026-12-08 08:30")
    assert got.after_hours


def test_a_request_at_night_is_dialled_at_the_opening_not_before() -> None:
    got = window("2026-12-08 03:15")
    assert (got.dial_from, got.promised_by) == (kyiv("2026-12-08 08:00"), kyiv("2026-12-08 08:30"))


def test_a_request_one_minute_before_opening() -> None:
    got = window("2026-12-08 07:59")
    assert got.opens_at == kyiv("2026-12-08 08:00")


def test_sunday_waits_for_monday() -> None:
    got = window("2026-12-13 12:00")
    assert got.opens_at == kyiv("2026-12-14 08:00")


def test_a_holiday_is_skipped_friday_the_25th_goes_to_saturday() -> None:
    got = window("2026-12-24 22:30")
    assert got.opens_at == kyiv("2026-12-26 08:00")
    assert got.promised_by == kyiv("2026-12-26 08:30")


def test_a_schedule_open_on_holidays_opens_on_the_holiday() -> None:
    got = window(
        "2026-12-24 22:30", schedule="duty", duty={"mon-sat": "08:00-22:00", "holidays": "open"}
    )
    assert got.opens_at == kyiv("2026-12-25 08:00")


def test_spring_forward_the_opening_is_an_hour_nearer_in_real_time() -> None:
    """2026-03-29 (Sunday) Kyiv goes from UTC+2 to UTC+3 at 03:00 local."""
    got = window("2026-03-29 02:00", schedule="daily", daily={"daily": "08:00-22:00"})
    assert got.opens_at == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 08:00 at UTC+3
    assert got.opens_at - kyiv("2026-03-29 02:00") == timedelta(hours=5)  # not 6


def test_fall_back_an_overnight_shift_is_an_hour_longer() -> None:
    """2026-10-25 (Sunday) Kyiv goes back from UTC+3 to UTC+2 at 04:00 local: the night
    desk open 22:00-08:00 has 11 real hours of a 12-hour promise, the last from 22:00."""
    got = window(
        "2026-10-24 21:00",
        promise=timedelta(hours=12),
        schedule="night",
        night={"daily": "22:00-08:00"},
    )
    assert got.opens_at == kyiv("2026-10-24 22:00")
    assert got.promised_by == kyiv("2026-10-25 23:00")


def test_a_promise_longer_than_the_open_span_runs_over_several_openings() -> None:
    got = window("2026-12-07 07:00", schedule="short", short={"daily": "08:00-08:10"})
    assert got.opens_at == kyiv("2026-12-07 08:00")
    assert got.promised_by == kyiv("2026-12-09 08:10")  # 10 + 10 + 10 minutes


def test_round_the_clock_days_run_into_each_other() -> None:
    got = window(
        "2026-12-07 10:00",
        promise=timedelta(days=3),
        schedule="always",
        always={"daily": "00:00-24:00"},
    )
    assert got == CallbackWindow(kyiv("2026-12-07 10:00"), kyiv("2026-12-10 10:00"), None)


def test_no_schedule_means_any_time() -> None:
    now = kyiv("2026-12-13 03:00")
    got = callback_window(calendar(), None, now, HALF_HOUR)
    assert got == CallbackWindow(now, now + HALF_HOUR, None)


def test_an_unknown_schedule_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        window("2026-12-07 10:00", schedule="nope")


def test_a_schedule_that_never_opens_says_so() -> None:
    holidays_only = {"daily": "08:00-09:00", "holidays": "closed"}
    cal = calendar(rare=holidays_only)
    every_day = frozenset(
        kyiv("2026-12-07 12:00").date() + timedelta(days=d) for d in range(-2, 500)
    )
    closed = Calendar(cal.timezone, every_day, cal.schedules)
    with pytest.raises(NeverOpen, match="rare"):
        callback_window(closed, "rare", kyiv("2026-12-07 10:00"), HALF_HOUR)


def test_promise_window_keeps_a_request_for_an_unknown_schedule_at_any_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = kyiv("2026-12-13 03:00")
    got = promise_window(calendar(), "gone", now, HALF_HOUR)
    assert got == CallbackWindow(now, now + HALF_HOUR, None)
    assert "no schedule 'gone' in calendar.yaml: dialled at any time" in caplog.text


def test_said_time_gives_the_day_only_when_not_today() -> None:
    cal, now = calendar(), kyiv("2026-12-07 21:50")
    assert said_time(cal, kyiv("2026-12-07 22:00"), now) == "22:00"
    assert said_time(cal, kyiv("2026-12-08 08:20"), now) == "08.12 08:20"

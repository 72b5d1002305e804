"""The reporting window: dates local to the calendar's zone, defaults, clear errors."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.reports.window import ReportError, Window, make_window, parse_moment

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # 11:30 in Kyiv


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24", utc(2026, 11, 23, 22)),  # local midnight (UTC+2)
        ("2026-07-01", utc(2026, 6, 30, 21)),  # summer time (UTC+3)
        ("2026-11-24T08:15", utc(2026, 11, 24, 6, 15)),
        ("2026-11-24 08:15:30", utc(2026, 11, 24, 6, 15, 30)),
        ("2026-11-24T08:15Z", utc(2026, 11, 24, 8, 15)),
        ("2026-11-24T08:15+01:00", utc(2026, 11, 24, 7, 15)),
    ],
)
def test_dates_and_times_are_local_unless_they_have_an_offset(
    text: str, expected: datetime
) -> None:
    assert parse_moment(text, "--since", KYIV) == expected


@pytest.mark.parametrize("text", ["24.11.2026", "2026-13-01", "yesterday", "2026-11-24T25:00"])
def test_a_bad_date_names_the_option_and_the_form(text: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_moment(text, "--until", KYIV)
    assert str(caught.value) == (
        f"--until: {text!r} is not a date or time "
        "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, local to Europe/Kyiv)"
    )


def test_the_default_window_is_the_last_seven_local_days_today_included() -> None:
    window = make_window(None, None, KYIV, NOW)
    assert (window.since, window.until) == (utc(2026, 11, 18, 22), utc(2026, 11, 25, 22))
    assert window.label() == "2026-11-19 – 2026-11-25 (Europe/Kyiv)"


def test_since_alone_runs_to_the_end_of_today_until_alone_takes_seven_days() -> None:
    assert make_window("2026-11-24", None, KYIV, NOW).until == utc(2026, 11, 25, 22)
    window = make_window(None, "2026-11-20T12:00", KYIV, NOW)
    assert (window.since, window.until) == (utc(2026, 11, 13, 10), utc(2026, 11, 20, 10))


def test_until_must_be_after_since() -> None:
    with pytest.raises(ReportError, match=r"^--until: 2026-11-20 00:00 is not after --since "):
        make_window("2026-11-24", "2026-11-20", KYIV, NOW)
    with pytest.raises(ReportError):
        make_window("2026-11-24", "2026-11-24", KYIV, NOW)


def test_labels() -> None:
    day = Window(utc(2026, 11, 23, 22), utc(2026, 11, 24, 22), KYIV)
    assert day.label() == "2026-11-24 (Europe/Kyiv)"
    hours = Window(utc(2026, 11, 24, 6), utc(2026, 11, 24, 8, 30), KYIV)
    assert hours.label() == "2026-11-24 08:00 – 2026-11-24 10:30 (Europe/Kyiv)"
    assert Window(utc(2026, 11, 1), utc(2026, 12, 1), UTC).label() == (
        "2026-11-01 – 2026-11-30 (UTC)"
    )

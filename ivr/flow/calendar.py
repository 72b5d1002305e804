"""Opening hours: named weekly schedules, holidays and overnight ranges (flows/calendar.yaml).

    timezone: Europe/Kyiv
    holidays: [2026-01-01, 2026-12-25]
    schedules:
      operators: {mon-sat: "08:00-22:00"}
      night_desk: {daily: "22:00-08:00"}      # overnight: belongs to the day it starts on

A schedule is closed on holidays unless it says `holidays: open`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.yamlfiles.problems import Problems

CALENDAR_FILE = "calendar.yaml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")
CLOCK = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*")  # ASCII digits ("０８" is no hour)


@dataclass(frozen=True)
class TimeRange:
    """[start, end) in minutes after midnight; end <= start runs past midnight."""

    start: int
    end: int

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def covers(self, minute: int, *, after_midnight: bool) -> bool:
        """Whether `minute` of the start day (or of the next day, `after_midnight`) is in range."""
        if after_midnight:
            return self.overnight and minute < self.end
        return self.start <= minute < (MINUTES_PER_DAY if self.overnight else self.end)


@dataclass(frozen=True)
class Schedule:
    ranges: Mapping[int, tuple[TimeRange, ...]]  # weekday (0 = Monday) -> ranges
    open_on_holidays: bool = False


@dataclass(frozen=True)
class Calendar:
    timezone: ZoneInfo
    holidays: frozenset[date]
    schedules: Mapping[str, Schedule]

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.timezone)

    def is_holiday(self, at: datetime) -> bool:
        return self.local(at).date() in self.holidays

    def is_open(self, schedule: str, at: datetime) -> bool:
        return within(self.schedules[schedule], self.local(at), self.holidays)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The start of `day` in `tz`, in UTC (where the contact center's "today" begins)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def within(schedule: Schedule, local: datetime, holidays: frozenset[date]) -> bool:
    minute = local.hour * 60 + local.minute
    today, yesterday = local.date(), local.date() - timedelta(days=1)
    for day, after_midnight in ((today, False), (yesterday, True)):
        if day in holidays and not schedule.open_on_holidays:
            continue
        if any(
            r.covers(minute, after_midnight=after_midnight)
            for r in schedule.ranges.get(day.weekday(), ())
        ):
            return True
    return False


def parse_days(text: str) -> set[int]:
    """`mon-sat`, `sat,sun`, `daily`, `weekdays`, `weekends`; ValueError otherwise."""
    aliases = {"daily": "mon-sun", "weekdays": "mon-fri", "weekends": "sat-sun"}
    days: set[int] = set()
    for part in aliases.get(text.strip().lower(), text.lower()).split(","):
        first, dash, last = part.strip().partition("-")
        if first not in DAYS or (dash and last not in DAYS):
            raise ValueError(f"{text!r}: expected days like mon-sat, sat,sun or daily")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return days


def parse_clock(text: str) -> int:
    found = CLOCK.fullmatch(text)
    if not found:
        raise ValueError(f"{text!r} is not a time (HH:MM)")
    hours, minutes = int(found[1]), int(found[2])
    value = hours * 60 + minutes
    if minutes > 59 or value > MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day (00:00-24:00)")
    return value


def parse_range(text: Any) -> TimeRange:
    """`08:00-22:00`; `22:00-08:00` runs overnight; `00:00-24:00` is the whole day."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"{text!r}: expected a range like 08:00-22:00")
    start, end = (parse_clock(part) for part in text.split("-"))
    if start == end or start == MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is an empty range")
    return TimeRange(start, end % MINUTES_PER_DAY if end == MINUTES_PER_DAY else end)


def parse_schedule(data: Any, problems: Problems, where: tuple[str, ...]) -> Schedule | None:
    if not isinstance(data, dict) or not data:
        problems.add(where, 'expected days mapped to hours, e.g. {mon-sat: "08:00-22:00"}')
        return None
    ranges: dict[int, list[TimeRange]] = {}
    open_on_holidays = False
    for key, value in data.items():
        if key == "holidays":
            if value not in ("open", "closed"):
                problems.add((*where, "holidays"), "expected open or closed")
            open_on_holidays = value == "open"
            continue
        try:
            days = parse_days(str(key))
            parsed = [parse_range(v) for v in (value if isinstance(value, list) else [value])]
        except ValueError as exc:
            problems.add((*where, str(key)), str(exc))
            continue
        for day in days:
            ranges.setdefault(day, []).extend(parsed)
    return Schedule({d: tuple(r) for d, r in ranges.items()}, open_on_holidays)


def time_zone(name: Any) -> ZoneInfo | None:
    """The zone of an IANA name like Europe/Kyiv; None for anything else (a directory of
    zones like Europe, a path, a file that is not a zone)."""
    if not isinstance(name, str) or not ZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # Europe: IsADirectoryError
        return None


def parse_calendar(data: Any, problems: Problems) -> Calendar:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add((), "expected a mapping with timezone, holidays and schedules")
        data = {}
    for key in sorted(str(k) for k in data if k not in {"timezone", "holidays", "schedules"}):
        problems.add((key,), "unknown key (expected: holidays, schedules, timezone)", at_key=True)
    zone = time_zone(data.get("timezone", "UTC"))
    if zone is None:
        problems.add(
            ("timezone",), f"unknown time zone {data.get('timezone')!r} (e.g. Europe/Kyiv)"
        )
        zone = ZoneInfo("UTC")
    holidays: set[date] = set()
    raw_holidays = data.get("holidays") or []
    if not isinstance(raw_holidays, list):
        problems.add(("holidays",), "expected a list of dates, e.g. [2026-01-01, 2026-12-25]")
        raw_holidays = []
    for index, value in enumerate(raw_holidays):
        try:
            is_day = isinstance(value, date) and not isinstance(value, datetime)
            holidays.add(value if is_day else date.fromisoformat(str(value)))
        except ValueError:
            problems.add(("holidays", index), f"{value!r} is not a date (YYYY-MM-DD)")
    schedules: dict[str, Schedule] = {}
    raw = data.get("schedules") or {}
    if not isinstance(raw, dict):
        problems.add(("schedules",), "expected a mapping of schedule name to its hours")
        raw = {}
    for name, value in raw.items():
        schedule = parse_schedule(value, problems, ("schedules", str(name)))
        if schedule is not None:
            schedules[str(name)] = schedule
    return Calendar(zone, frozenset(holidays), schedules)


ALWAYS = Calendar(ZoneInfo("UTC"), frozenset(), {})

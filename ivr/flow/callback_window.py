"""When a callback may be dialled and what the caller is promised, within operator hours.

The promise counts operator time only: a caller told "within 30 minutes" at 21:50 by
operators who close at 22:00 and open at 08:00 is called back by 08:20 the next working
day; a request made while closed is first dialled at the next opening and promised that
opening plus the interval. Opening hours are a schedule of the calendar (calendar.yaml):
its ranges, holidays and time zone, DST included (the spans are compared in UTC).
Pure: times in, times out.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ivr.flow.calendar import CALENDAR_FILE, MINUTES_PER_DAY, Calendar, Schedule
from ivr.yamlfiles.problems import Problem, Problems, load_located

log = logging.getLogger(__name__)

HORIZON_DAYS = 400  # a schedule that does not open within this many days never opens


@dataclass(frozen=True)
class CallbackWindow:
    dial_from: datetime  # the first attempt, not before (UTC)
    promised_by: datetime  # what the caller is told (UTC)
    opens_at: datetime | None  # the next opening when closed at the request; None: open

    @property
    def after_hours(self) -> bool:
        return self.opens_at is not None


class NeverOpen(ValueError):
    """The schedule has no open time within HORIZON_DAYS."""


def callback_window(
    calendar: Calendar, schedule: str | None, now: datetime, promise: timedelta
) -> CallbackWindow:
    """The window for a request at `now` (aware): with no `schedule` (None or ""), callbacks
    are dialled at any time. KeyError: no such schedule; NeverOpen: it never opens."""
    if not schedule:
        return CallbackWindow(now, now + promise, None)
    spans = open_spans(calendar, calendar.schedules[schedule], now)
    left, first = promise, None
    for start, end in spans:
        begin = max(start, now)
        first = first or begin  # open now (begin == now), or the next opening
        if begin + left <= end:
            return CallbackWindow(first, begin + left, first if first > now else None)
        left -= end - begin
    raise NeverOpen(f"schedule {schedule!r} does not open within {HORIZON_DAYS} days")


def promise_window(
    calendar: Calendar, schedule: str | None, now: datetime, promise: timedelta
) -> CallbackWindow:
    """callback_window, or at any time (logged) when the schedule is unknown (calendar.yaml
    lost it) or never opens: the request is kept and dialled rather than lost."""
    try:
        return callback_window(calendar, schedule, now, promise)
    except KeyError:
        log.warning("callbacks: no schedule %r in calendar.yaml: dialled at any time", schedule)
    except NeverOpen as exc:
        log.warning("callbacks: %s: dialled at any time", exc)
    return callback_window(calendar, None, now, promise)


def said_time(calendar: Calendar, at: datetime, now: datetime) -> str:
    """`at` as the caller is told it: local HH:MM, with the day when it is not today
    ("25.12 08:30")."""
    local, today = calendar.local(at), calendar.local(now)
    return local.strftime("%H:%M" if local.date() == today.date() else "%d.%m %H:%M")


def open_spans(
    calendar: Calendar, schedule: Schedule, now: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The schedule's open spans [start, end) in UTC that end after `now`, in order,
    adjacent ones joined (a day 00:00-24:00 runs into the next)."""
    today = calendar.local(now).date()
    pending: tuple[datetime, datetime] | None = None
    for offset in range(-1, HORIZON_DAYS):
        for start, end in _day_spans(calendar, schedule, today + timedelta(days=offset)):
            if end <= now:
                continue
            if pending is not None and start <= pending[1]:
                pending = (pending[0], max(pending[1], end))
                continue
            if pending is not None:
                yield pending
            pending = (start, end)
    if pending is not None:
        yield pending


def _day_spans(
    calendar: Calendar, schedule: Schedule, day: date
) -> list[tuple[datetime, datetime]]:
    """The spans that start on `day` (local), in UTC, by start; none on a closed holiday."""
    if day in calendar.holidays and not schedule.open_on_holidays:
        return []
    spans = []
    for r in schedule.ranges.get(day.weekday(), ()):
        end_day = day + timedelta(days=1) if r.overnight else day
        spans.append((_at(calendar, day, r.start), _at(calendar, end_day, r.end)))
    return sorted(spans)


def _at(calendar: Calendar, day: date, minute: int) -> datetime:
    """`minute` after the local midnight of `day`, in UTC (a wall time skipped by DST reads
    as the zone says: 03:30 on the spring-forward night is 04:30)."""
    hours, minutes = divmod(minute % MINUTES_PER_DAY, 60)
    local = datetime.combine(day, time(hours, minutes), tzinfo=calendar.timezone)
    return local.astimezone(UTC)


def unknown_hours(calendar: Calendar, hours: str, queues_file: str | Path) -> list[Problem]:
    """A warning for queues.yaml's `callbacks.hours` naming no schedule of `calendar` (then
    callbacks are dialled at any time), placed at its line and column when the file can be
    read; none when it is known."""
    if not hours or hours in calendar.schedules:
        return []
    try:
        located = load_located(Path(queues_file).read_text(encoding="utf-8"))
    except Exception:  # its own problems are reported by its own validation
        located = None
    problems = Problems(str(queues_file), located)
    known = ", ".join(sorted(calendar.schedules)) or "none"
    message = (
        f"unknown schedule {hours!r} (not in {CALENDAR_FILE} schedules: {known}):"
        " callbacks are dialled at any time"
    )
    problems.add(("callbacks", "hours"), message, warning=True)
    return problems.items

"""The reporting window: [since, until) read from the command line in a local time zone."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ivr.flow.calendar import local_midnight

DEFAULT_DAYS = 7
DATE_FORMS = "YYYY-MM-DD or YYYY-MM-DDTHH:MM"


class ReportError(ValueError):
    """A report cannot run as asked; the message names the option and what it expects."""


@dataclass(frozen=True)
class Window:
    since: datetime  # aware, UTC, inclusive
    until: datetime  # aware, UTC, exclusive
    tz: tzinfo  # the local time zone the window was given in

    def label(self) -> str:
        """The window as people read it: whole local days as "2026-11-18 – 2026-11-24"
        (the last day included), anything else as local times; then the time zone."""
        since, until = self.since.astimezone(self.tz), self.until.astimezone(self.tz)
        if since.time() == until.time() == time(0):
            last = until.date() - timedelta(days=1)
            days = f"{since.date()}" if last == since.date() else f"{since.date()} – {last}"
            return f"{days} ({self.tz})"
        return f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} ({self.tz})"


def parse_moment(text: str, option: str, tz: tzinfo) -> datetime:
    """A date (local midnight) or an ISO date-time (local to `tz` unless it has an offset),
    as an aware UTC datetime; ReportError naming `option` otherwise."""
    text = text.strip()
    try:
        if len(text) == 10:
            return local_midnight(date.fromisoformat(text), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(
            f"{option}: {text!r} is not a date or time (expected {DATE_FORMS}, local to {tz})"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def make_window(since: str | None, until: str | None, tz: tzinfo, now: datetime) -> Window:
    """The window from --since/--until; by default the last 7 local days, today included.
    Only --since: up to the end of today; only --until: the 7 days before it."""
    end_of_today = local_midnight(now.astimezone(tz).date() + timedelta(days=1), tz)
    stop = parse_moment(until, "--until", tz) if until else end_of_today
    if since:
        start = parse_moment(since, "--since", tz)
    else:
        local_stop = stop.astimezone(tz)
        start = datetime.combine(
            local_stop.date() - timedelta(days=DEFAULT_DAYS), local_stop.timetz()
        ).astimezone(UTC)
    if stop <= start:
        raise ReportError(
            f"--until: {stop.astimezone(tz):%Y-%m-%d %H:%M} is not after "
            f"--since {start.astimezone(tz):%Y-%m-%d %H:%M} ({tz})"
        )
    return Window(start, stop, tz)

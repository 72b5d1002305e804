"""`ivr report sla|staffing|lines|unreachable|agents`: the parser and the command.

Dates are local to the flows calendar's time zone (flows/calendar.yaml); line cities come
from flows/ and agent names and answer targets from queues.yaml, when they load (staffing
needs queues.yaml: its goals, answer targets and wrapup times).
"""

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ivr.config import Settings
from ivr.reports.window import DATE_FORMS, DEFAULT_DAYS, ReportError, Window, make_window

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from ivr.queues.model import QueuesConfig
    from ivr.reports.render import Report
    from ivr.reports.tables import Labels

PLOT_FORMATS = ("png", "svg", "pdf")
KINDS = {
    "sla": "service level per queue (or --by line) and overall",
    "staffing": "per hour: offered calls, handle time, agents needed (Erlang C), logged in",
    "lines": "per line: calls, service level, abandon rate, unreachable reports",
    "unreachable": "unreachable-number reports per line, then each report",
    "agents": "per agent: calls, talk, occupancy, not-ready and ringing time",
    "prediction": "per queue: the wait predicted at the join against the real wait",
}
PLOTS = {
    "sla": "service level by hour over calls per hour",
    "staffing": "agents needed and logged in by hour over calls per hour",
    "lines": "service level and abandon rate per line",
    "unreachable": "reports per line, the most reported on top",
    "agents": "each agent's logged-in time: talk / ringing / ready idle / not ready",
}

SubParsers = argparse._SubParsersAction  # argparse has no public name for it


def add_report_parser(sub: "SubParsers[argparse.ArgumentParser]") -> None:
    window = argparse.ArgumentParser(add_help=False)
    zone = "local time in the time zone of flows/calendar.yaml unless it has an offset (Z, +02:00)"
    window.add_argument(
        "--since",
        metavar="DATE",
        help=f"start, inclusive: {DATE_FORMS}; {zone}; default: {DEFAULT_DAYS} days before --until",
    )
    window.add_argument(
        "--until",
        metavar="DATE",
        help=f"end, exclusive: {DATE_FORMS}, {zone}; default: the end of today "
        f"(so the default window is the last {DEFAULT_DAYS} days, today included)",
    )
    window.add_argument("--csv", action="store_true", help="print CSV (raw numbers) instead")
    report = sub.add_parser(
        "report",
        help="KPI reports from the store (text, CSV, plots)",
        description="KPI reports from the store for supervisors. Dates are local to the time "
        "zone of the flows calendar (flows/calendar.yaml, e.g. Europe/Kyiv); the window is "
        "[--since, --until), by default the last 7 days, today included.",
    )
    kinds = report.add_subparsers(dest="report", required=True)
    for name, text in KINDS.items():
        kind = kinds.add_parser(name, parents=[window], help=text, description=text)
        if name in PLOTS:
            kind.add_argument(
                "--plot", metavar="FILE.png", help=f"also draw {PLOTS[name]} (.png, .svg or .pdf)"
            )
        if name == "sla":
            kind.add_argument(
                "--by", choices=["queue", "line"], default="queue", help="group by (default: queue)"
            )
        if name == "staffing":
            kind.add_argument(
                "--queue",
                help="one queue of queues.yaml (its calls, and the agents with a skill for "
                "it); default: every queue",
            )
        if name == "prediction":
            kind.add_argument(
                "--within",
                metavar="SECONDS",
                type=within_seconds,
                default=30.0,
                help="a prediction this close to the real wait counts as good (default: 30)",
            )


def within_seconds(text: str) -> float:
    """--within: seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def plot_path(text: str) -> Path:
    """The --plot file, checked before any query: a known format in a writable directory."""
    path = Path(text)
    if path.is_dir():
        raise ReportError(f"--plot: {text} is a directory; expected a file name ending .png")
    if path.suffix.lstrip(".").lower() not in PLOT_FORMATS:
        raise ReportError(f"--plot: {text!r}: expected a file name ending .png (or .svg, .pdf)")
    if not path.parent.is_dir():
        raise ReportError(f"--plot: cannot write {text}: no directory {path.parent}")
    writable = os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)
    if not writable:
        raise ReportError(f"--plot: cannot write {text}: permission denied")
    return path


def calendar_zone(flows_dir: str) -> tzinfo:
    """The flows calendar's time zone (UTC without calendar.yaml)."""
    from ivr.flow.calendar import CALENDAR_FILE, parse_calendar
    from ivr.yamlfiles.problems import Problems, read_yaml

    path = Path(flows_dir) / CALENDAR_FILE
    if not path.exists():
        return UTC
    problems = Problems(str(path))
    located = read_yaml(path, problems)
    return parse_calendar(located.data if located else None, problems).timezone


def load_labels(settings: Settings) -> "Labels":
    """Line cities from flows/, agent names and the answer target from queues.yaml; what
    does not load is left out (the reports still run)."""
    from ivr.flow.loader import validate_library
    from ivr.queues.model import validate_queues
    from ivr.reports.tables import NO_LABELS, Labels
    from ivr.storage.reports import line_key

    library = validate_library(settings.flows_dir).library
    cities = {line_key(n) or n: line.city for n, line in (library.lines if library else {}).items()}
    queues, _ = validate_queues(settings.queues_file)
    if queues is None:
        return Labels(cities, {}, NO_LABELS.target)
    targets = sorted({q.answer_target for q in queues.queues.values()})
    target = NO_LABELS.target
    if targets:
        low, high = f"{targets[0]:g}", f"{targets[-1]:g}"
        target = f"{low} s" if low == high else f"{low}–{high} s"
    goal = max((q.service_level_goal for q in queues.queues.values()), default=None)
    agents = {a.id: a.name for a in queues.agents.values()}
    if goal is None:
        return Labels(cities, agents, target)
    return Labels(cities, agents, target, goal / 100)


def staffing_queues(settings: Settings, queue: str | None) -> "QueuesConfig":
    """queues.yaml, which staffing needs (goals, targets, wrapup); ReportError otherwise."""
    from ivr.queues.model import validate_queues

    config, problems = validate_queues(settings.queues_file)
    if config is None:
        first = next((str(p) for p in problems if not p.warning), "")
        raise ReportError(f"staffing needs a valid queues.yaml: {first}")
    if queue is not None and queue not in config.queues:
        known = ", ".join(config.queues)
        raise ReportError(f"--queue: {queue!r} is not a queue of queues.yaml (queues: {known})")
    return config


def _staffing(
    queue: str | None,
    sessions: "sessionmaker[Session]",
    window: Window,
    config: "QueuesConfig",
    with_plot: bool,
) -> tuple["Report", Callable[[Path], None] | None]:
    from ivr.reports import tables
    from ivr.reports.staffing import goals_label, staffing_rows
    from ivr.storage.staffing import StaffingRepository

    agents = None
    if queue is not None:
        agents = [a.id for a in config.agents.values() if queue in a.skills]
    hours = StaffingRepository(sessions).hours(window.since, window.until, window.tz, queue, agents)
    rows = staffing_rows(hours, config)
    goals = goals_label(config, queue)
    report = tables.staffing_report(rows, window, goals, queue)
    if not with_plot:
        return report, None
    from ivr.reports import plots  # matplotlib: only when drawing

    return report, partial(plots.plot_staffing, rows, window, goals, queue)


def run_report(
    settings: Settings,
    args: argparse.Namespace,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    out: TextIO | None = None,
) -> int:
    """Print the report (text or CSV) and draw its plot; 2 with one line on bad options."""
    try:
        return _run(settings, args, now(), out or sys.stdout)
    except ReportError as exc:
        print(f"ivr report: {exc}", file=sys.stderr)
        return 2


def _run(settings: Settings, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from ivr.reports.render import render_csv, render_text
    from ivr.storage.db import open_store

    tz = calendar_zone(settings.flows_dir)
    window = make_window(args.since, args.until, tz, now)
    plot = plot_path(args.plot) if getattr(args, "plot", None) else None
    labels = load_labels(settings)
    queues = staffing_queues(settings, args.queue) if args.report == "staffing" else None
    with open_store(settings.database_url) as sessions:
        if queues is not None:
            report, draw = _staffing(args.queue, sessions, window, queues, plot is not None)
        else:
            report, draw = _build(args, sessions, window, labels, plot is not None)
    out.write(render_csv(report) if args.csv else render_text(report, tz))
    if plot is not None and draw is not None:
        try:
            draw(plot)
        except OSError as exc:
            raise ReportError(f"--plot: cannot write {plot}: {exc.strerror or exc}") from None
        print(f"wrote {plot}", file=sys.stderr)
    return 0


def _build(
    args: argparse.Namespace,
    sessions: "sessionmaker[Session]",
    window: Window,
    labels: "Labels",
    with_plot: bool,
) -> tuple["Report", Callable[[Path], None] | None]:
    """The report, and the plot drawing function (its data read now) when asked for."""
    from ivr.reports import tables
    from ivr.storage.kpi import KpiRepository
    from ivr.storage.reports import ReportRepository
    from ivr.storage.service_level import ServiceLevelRepository

    if with_plot:
        from ivr.reports import plots  # matplotlib: only when drawing
    goal = labels.goal
    levels, reports = ServiceLevelRepository(sessions), ReportRepository(sessions)
    if args.report == "sla":
        report = tables.sla_report(levels, window, args.by, labels)
        if not with_plot:
            return report, None
        hours = levels.by_hour(window.since, window.until, window.tz)
        return report, partial(plots.plot_sla, hours, window, labels.target, goal)
    if args.report == "lines":
        rows, total = tables.line_rows(levels, reports, window, labels)
        report = tables.lines_report(rows, total, window)
        return report, partial(plots.plot_lines, rows, window, goal) if with_plot else None
    if args.report == "prediction":
        from ivr.reports.prediction import prediction_report
        from ivr.storage.prediction import PredictionRepository

        return prediction_report(PredictionRepository(sessions), window, args.within), None
    if args.report == "unreachable":
        report = tables.unreachable_report(reports, window, labels)
        counts = report.tables[0].rows
        return report, partial(plots.plot_unreachable, counts, window) if with_plot else None
    stats = KpiRepository(sessions).agents(window.since, window.until)
    report = tables.agents_report(stats, window, labels)
    return report, partial(plots.plot_agents, stats, labels.agents, window) if with_plot else None

"""The reports as tables, built from the storage repositories (blocking queries).

sla: service level per queue (or line) and overall; staffing: per hour, agents needed
(Erlang C) against agents logged in; lines: per line, calls with their
KPIs and the unreachable-number reports logged against it; unreachable: reports per line,
then each report, newest first; agents: per agent, calls, talk, occupancy, not-ready and
ringing time.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ivr.reports.render import Column, Kind, Report, Row, Table
from ivr.reports.staffing import StaffingRow
from ivr.reports.window import Window
from ivr.storage.kpi import AgentStats
from ivr.storage.reports import ReportRepository, UnreachableReportView, line_key
from ivr.storage.service_level import OVERALL, ServiceLevel, ServiceLevelRepository

SERVICE_LEVEL_GOAL = 0.8  # without queues.yaml: the usual 80 % answered within the target
ALL_REPORTS = 1_000_000  # no limit, in practice


@dataclass(frozen=True)
class Labels:
    """What the store does not know: from flows/ and queues.yaml when they load."""

    cities: Mapping[str, str]  # line (digits) -> city
    agents: Mapping[str, str]  # agent id -> display name
    target: str  # the answer target(s), e.g. "20 s"
    goal: float = SERVICE_LEVEL_GOAL  # share to answer within it (queues.yaml, the highest)

    def city(self, line: str) -> str:
        return self.cities.get(line_key(line) or "", "")


NO_LABELS = Labels({}, {}, "the answer target")


def _c(key: str, title: str, kind: Kind = Kind.COUNT, width: int = 0) -> Column:
    return Column(key, title, kind, width)


def _key(key: str, title: str) -> Column:
    """A grouping column: "" (not known) shows as such in text."""
    return Column(key, title, Kind.TEXT, blank="(not known)")


def _csv_only(key: str, title: str) -> Column:
    return Column(key, title, Kind.TEXT, in_text=False)


LEVEL_COLUMNS = (
    _c("offered", "Offered"),
    _c("answered", "Answered"),
    _c("within_target", "In target"),
    _c("abandoned", "Abandoned"),
    _c("abandoned_after_target", "Abandoned late"),
    _c("service_level", "Service level", Kind.RATIO),
    _c("asa_seconds", "ASA", Kind.SECONDS),
    _c("average_talk_seconds", "Avg talk", Kind.SECONDS),
    _c("abandon_rate", "Abandon rate", Kind.RATIO),
    _c("over_guideline", "Over guideline"),
)


def level_row(level: ServiceLevel) -> dict[str, Any]:
    return {
        "offered": level.offered,
        "answered": level.answered,
        "within_target": level.within_target,
        "abandoned": level.abandoned,
        "abandoned_after_target": level.abandoned_after_target,
        "service_level": level.share,
        "asa_seconds": level.average_wait,
        "average_talk_seconds": level.average_talk,
        "abandon_rate": level.abandon_rate,
        "over_guideline": level.over_guideline,
    }


def sla_report(
    levels: ServiceLevelRepository, window: Window, by: str, labels: Labels = NO_LABELS
) -> Report:
    """Service level per queue (by="queue") or per line (by="line"), then overall."""
    grouped = levels.by_line if by == "line" else levels.by_queue
    key = _key(by, by.capitalize())
    columns = (
        (key, _c("city", "City", Kind.TEXT), *LEVEL_COLUMNS)
        if by == "line"
        else (
            key,
            *LEVEL_COLUMNS,
        )
    )

    def row(level: ServiceLevel) -> Row:
        extra = {"city": labels.city(level.key)} if by == "line" else {}
        return {by: level.key, **extra, **level_row(level)}

    rows = [row(level) for level in grouped(window.since, window.until)]
    extra = {"city": ""} if by == "line" else {}
    total = {by: OVERALL, **extra, **level_row(levels.overall(window.since, window.until))}
    note = (
        f"Service level = answered within {labels.target} / (answered + abandoned after "
        f"the target); goal {labels.goal * 100:g} %. ASA = average speed of answer."
    )
    title = f"Service level by {by}, {window.label()}"
    return Report((Table(title, columns, rows, total if rows else None),), notes=(note,))


LINE_COLUMNS = (
    _key("line", "Line"),
    _c("city", "City", Kind.TEXT),
    _c("offered", "Offered"),
    _c("answered", "Answered"),
    _c("service_level", "Service level", Kind.RATIO),
    _c("asa_seconds", "ASA", Kind.SECONDS),
    _c("abandon_rate", "Abandon rate", Kind.RATIO),
    _c("over_guideline", "Over guideline"),
    _c("unreachable_reports", "Unreachable reports"),
)
LINE_LEVEL_KEYS = tuple(c.key for c in LINE_COLUMNS[2:-1])  # offered .. over_guideline


def line_rows(
    levels: ServiceLevelRepository,
    reports: ReportRepository,
    window: Window,
    labels: Labels = NO_LABELS,
) -> tuple[list[Row], Row]:
    """Per line (by number): its calls' KPIs and the reports logged against it; then the
    total. A line with reports but no offered call has zero calls."""
    by_line = {line_key(x.key) or x.key: x for x in levels.by_line(window.since, window.until)}
    counts = dict(reports.unreachable_by_line(window.since, window.until))
    empty = ServiceLevel("", 0, 0, 0, 0, 0, None, None, None, 0)
    rows: list[Row] = []
    for line in sorted(by_line.keys() | counts.keys(), key=lambda k: (k == "", k)):
        level = level_row(by_line.get(line, empty))
        rows.append(
            {
                "line": line,
                "city": labels.city(line),
                **{key: level[key] for key in LINE_LEVEL_KEYS},
                "unreachable_reports": counts.get(line, 0),
            }
        )
    overall = level_row(levels.overall(window.since, window.until))
    total = {
        "line": OVERALL,
        "city": "",
        **{key: overall[key] for key in LINE_LEVEL_KEYS},
        "unreachable_reports": sum(counts.values()),
    }
    return rows, total


def lines_report(rows: Sequence[Row], total: Row, window: Window) -> Report:
    title = f"Lines: calls and unreachable-number reports, {window.label()}"
    return Report((Table(title, LINE_COLUMNS, rows, total if rows else None),))


COUNT_COLUMNS = (
    _key("line", "Line"),
    _c("city", "City", Kind.TEXT),
    _c("reports", "Reports"),
)
DETAIL_COLUMNS = (
    _c("created_at", "When", Kind.TIME),
    _key("reported_line", "Line"),
    _c("city", "City", Kind.TEXT),
    _c("problem", "Problem", Kind.TEXT),
    _c("published", "Published", Kind.TEXT),
    _c("dialled_from", "Dialled from", Kind.TEXT),
    _csv_only("via_line", "Via line"),
    _c("source", "Source", Kind.TEXT),
    _c("caller", "Caller", Kind.TEXT),
    _c("full_name", "Name", Kind.TEXT, width=24),
    _c("contract", "Contract", Kind.TEXT),
    _csv_only("address", "Address"),
    _c("details", "Details", Kind.TEXT, width=40),
    _csv_only("status", "Status"),
    _csv_only("call_id", "Call"),
)


def unreachable_counts(
    reports: ReportRepository, window: Window, labels: Labels = NO_LABELS
) -> list[Row]:
    """Reports per reported line, the most reported first."""
    return [
        {"line": line, "city": labels.city(line), "reports": n}
        for line, n in reports.unreachable_by_line(window.since, window.until)
    ]


def detail_row(report: UnreachableReportView, labels: Labels) -> Row:
    line = report.reported_line or ""
    return {
        **{c.key: getattr(report, c.key) for c in DETAIL_COLUMNS if c.key != "city"},
        "reported_line": line,
        "city": labels.city(line),
    }


def unreachable_report(
    reports: ReportRepository, window: Window, labels: Labels = NO_LABELS
) -> Report:
    """Counts per line, then every report (newest first). CSV: the reports."""
    counts = unreachable_counts(reports, window, labels)
    total = {"line": OVERALL, "city": "", "reports": sum(int(r["reports"]) for r in counts)}
    views = reports.unreachable_reports(since=window.since, until=window.until, limit=ALL_REPORTS)
    label = window.label()
    return Report(
        (
            Table(
                f"Unreachable-number reports by line, {label}",
                COUNT_COLUMNS,
                counts,
                total if counts else None,
            ),
            Table(
                f"Reports, newest first, {label}",
                DETAIL_COLUMNS,
                [detail_row(v, labels) for v in views],
            ),
        ),
        csv_table=1,
    )


AGENT_COLUMNS = (
    _c("agent", "Agent", Kind.TEXT),
    _c("name", "Name", Kind.TEXT, width=24),
    _c("answered", "Answered"),
    _c("talk_seconds", "Talk", Kind.SECONDS),
    _c("average_talk_seconds", "Avg talk", Kind.SECONDS),
    _c("occupancy", "Occupancy", Kind.RATIO),
    _c("logged_in_seconds", "Logged in", Kind.SECONDS),
    _c("not_ready_seconds", "Not ready", Kind.SECONDS),
    _c("ringing_seconds", "Ringing", Kind.SECONDS),
    _c("rings", "Rings"),
    _c("missed_rings", "Missed rings"),
)


def agent_row(stats: AgentStats, labels: Labels = NO_LABELS) -> Row:
    return {
        "agent": stats.agent,
        "name": labels.agents.get(stats.agent, ""),
        "answered": stats.answered,
        "talk_seconds": stats.talk_seconds,
        "average_talk_seconds": stats.average_talk,
        "occupancy": stats.occupancy,
        "logged_in_seconds": stats.logged_in_seconds,
        "not_ready_seconds": stats.not_ready_seconds,
        "ringing_seconds": stats.ringing_seconds,
        "rings": stats.rings,
        "missed_rings": stats.missed_rings,
    }


def agents_report(
    stats: Sequence[AgentStats], window: Window, labels: Labels = NO_LABELS
) -> Report:
    note = (
        "Occupancy = time in calls / (logged in - not ready - phone unavailable). "
        "Not ready = paused. "
        "Ringing = time the agent's phone rang for queue calls."
    )
    title = f"Agents, {window.label()}"
    rows = [agent_row(s, labels) for s in stats]
    return Report((Table(title, AGENT_COLUMNS, rows),), notes=(note,))


STAFFING_COLUMNS = (
    _c("hour", "Hour", Kind.TEXT),
    _c("offered", "Offered"),
    _c("aht_seconds", "AHT", Kind.SECONDS),
    _c("erlangs", "Erlangs"),
    _c("needed", "Needed"),
    _c("logged_in_average", "Logged in (avg)"),
    _c("logged_in_max", "Logged in (max)"),
    _c("gap", "Gap"),
)


def staffing_row(row: StaffingRow) -> Row:
    gap = row.gap
    return {
        "hour": row.hour.replace("T", " "),
        "offered": row.offered,
        "aht_seconds": row.handle_seconds,
        "erlangs": round(row.erlangs, 2),
        "needed": row.needed,
        "logged_in_average": round(row.logged_in_average, 1),
        "logged_in_max": row.logged_in_max,
        "gap": None if gap is None else round(gap, 1),
    }


def staffing_report(
    rows: Sequence[StaffingRow], window: Window, goals: str, queue: str | None = None
) -> Report:
    """Per hour: offered calls, handle time, agents needed (Erlang C) and logged in."""
    scope = f"queue {queue}" if queue else "all queues"
    title = f"Staffing by hour, {scope} ({goals}), {window.label()}"
    short = [r for r in rows if r.gap is not None and r.gap > 0]
    peak = max(rows, key=lambda r: r.needed or 0, default=None)
    notes = [
        "Needed = the fewest agents answering the goal's share of the hour's calls within "
        "the answer target (Erlang C; each queue counted apart, then added up). AHT = mean "
        "talk time + wrapup. Gap = needed - logged in (avg): positive = agents short.",
    ]
    if peak is not None and peak.needed:
        notes.append(
            f"Peak: {peak.needed} agents needed at {peak.hour.replace('T', ' ')}; "
            f"{len(short)} of {len(rows)} hours short of agents."
        )
    busy = [r for r in rows if r.offered or r.logged_in_max]
    if len(busy) < len(rows):
        notes.append(f"{len(rows) - len(busy)} hours with no calls and nobody logged in not shown.")
    return Report(
        (Table(title, STAFFING_COLUMNS, [staffing_row(r) for r in busy]),), notes=tuple(notes)
    )

"""Report plots for supervisors: PNG (or SVG/PDF) files readable at a glance.

matplotlib's object API with the Agg canvas set on each figure (no pyplot, no global
backend switch); DejaVu Sans for Cyrillic and other scripts; large type, no chart junk.
"""

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator
from matplotlib.typing import RcKeyType

from ivr.reports.render import Row, percent
from ivr.reports.staffing import StaffingRow
from ivr.reports.window import Window
from ivr.storage.kpi import AgentStats
from ivr.storage.service_level import ServiceLevel

STYLE: dict[RcKeyType, Any] = {  # rcParams while a figure is drawn
    "font.family": "DejaVu Sans",
    "font.size": 15,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 14,
    "axes.labelcolor": "#404040",
    "axes.edgecolor": "#808080",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.labelsize": 13,
    "ytick.labelsize": 14,
    "xtick.color": "#404040",
    "ytick.color": "#404040",
    "legend.fontsize": 13,
    "legend.frameon": False,
    "savefig.dpi": 120,
}
HEADER_INCHES = 1.15  # the band for the title and the window above the plots
MAX_BARS = 30  # lines or agents in one plot; the rest are counted in a footnote
MAX_HOURS = 14 * 24  # a longer window is plotted per day

INK = "#262626"
MUTED = "#595959"
BLUE = "#1f5f9e"
LIGHT_BLUE = "#9cc3e5"
RED = "#c0392b"
LIGHT_RED = "#f1a9a0"
GREEN = "#4c9a2a"
AMBER = "#f0b429"
PALE_GREEN = "#c5e0b4"
GREY = "#b0b0b0"


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    """A figure with `height` inches for the plots, under a band for the headline."""
    total = height + HEADER_INCHES
    with matplotlib.rc_context(STYLE):
        figure = Figure(
            figsize=(width, total),
            layout=ConstrainedLayoutEngine(rect=(0, 0, 1, height / total), h_pad=0.1),
        )
        FigureCanvasAgg(figure)
        yield figure


def _headline(figure: Figure, title: str, subtitle: str) -> None:
    """A bold title and a grey subtitle (the window), left-aligned above the plots."""
    height = figure.get_figheight()
    figure.text(
        0.012, 1 - 0.22 / height, title, fontsize=22, fontweight="bold", color=INK, va="top"
    )
    figure.text(0.012, 1 - 0.72 / height, subtitle, fontsize=15, color=MUTED, va="top")


def save(figure: Figure, path: Path) -> None:
    figure.savefig(path, format=path.suffix.lstrip(".").lower())


def _clean(axes: Axes, *, grid: Literal["x", "y"] | None = None) -> None:
    axes.tick_params(length=0)
    if grid:
        axes.grid(axis=grid, color="#e6e6e6", linewidth=1)
        axes.set_axisbelow(True)


def _nothing(axes: Axes, text: str) -> None:
    """A grey note in the middle of an empty plot."""
    axes.text(
        0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", color=MUTED, fontsize=16
    )


# --- sla: service level by hour --------------------------------------------------------------


def _hour_ticks(keys: Sequence[str]) -> tuple[list[float], list[str], list[int]]:
    """Tick positions and labels for hourly keys YYYY-MM-DDTHH:00, and the day boundaries.
    Up to two days: a label every few hours; longer: each day's name under its middle."""
    starts = [datetime.fromisoformat(k) for k in keys]
    midnights = [n for n, s in enumerate(starts) if s.hour == 0]
    if len(keys) <= 48:
        step = 2 if len(keys) <= 24 else 4
        hours = [n for n, s in enumerate(starts) if s.hour % step == 0]
        labels = [
            f"{starts[n]:%H:%M}" + (f"\n{starts[n]:%a %d %b}" if starts[n].hour == 0 else "")
            for n in hours
        ]
        return [float(n) for n in hours], labels, midnights
    every = max(1, math.ceil(len(midnights) / 10))
    noons = [n for n, s in enumerate(starts) if s.hour == 12][::every]
    return [n - 0.5 for n in noons], [f"{starts[n]:%a\n%d %b}" for n in noons], midnights


def by_day(hours: Sequence[ServiceLevel]) -> list[ServiceLevel]:
    """Hourly levels added up per local day (key YYYY-MM-DD); averages are left out."""
    days: dict[str, list[ServiceLevel]] = {}
    for hour in hours:
        days.setdefault(hour.key[:10], []).append(hour)
    levels = []
    for day, parts in days.items():
        answered = sum(h.answered for h in parts)
        late = sum(h.abandoned_after_target for h in parts)
        within = sum(h.within_target for h in parts)
        levels.append(
            ServiceLevel(
                key=day,
                offered=sum(h.offered for h in parts),
                answered=answered,
                within_target=within,
                abandoned=sum(h.abandoned for h in parts),
                abandoned_after_target=late,
                share=within / (answered + late) if answered + late else None,
                average_wait=None,
                average_talk=None,
                over_guideline=sum(h.over_guideline for h in parts),
            )
        )
    return levels


def _day_ticks(keys: Sequence[str]) -> tuple[list[float], list[str], list[int]]:
    every = max(1, math.ceil(len(keys) / 12))
    ticks = list(range(0, len(keys), every))
    return [float(n) for n in ticks], [f"{date.fromisoformat(keys[n]):%d %b}" for n in ticks], []


def plot_sla(
    hours: Sequence[ServiceLevel], window: Window, target: str, goal: float, path: Path
) -> None:
    """Service level per hour (line, red below the goal) over answered and abandoned calls
    per hour (bars); per day for windows longer than two weeks."""
    daily = len(hours) > MAX_HOURS
    if daily:
        hours = by_day(hours)
    unit = "day" if daily else "hour"
    keys = [h.key for h in hours]
    answered = sum(h.answered for h in hours)
    counted = answered + sum(h.abandoned_after_target for h in hours)
    overall = sum(h.within_target for h in hours) / counted if counted else None
    with _figure(14, 8) as figure:
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        _share_line(top, hours, goal)
        top.set_title(f"Service level per {unit} (answered within {target})")
        _clean(top, grid="y")
        _call_bars(bottom, hours)
        bottom.set_title(f"Calls per {unit}")
        bottom.legend(loc="lower right", ncols=2, bbox_to_anchor=(1, 1.0), borderaxespad=0.1)
        _clean(bottom, grid="y")
        ticks, labels, midnights = _day_ticks(keys) if daily else _hour_ticks(keys)
        bottom.set_xticks(ticks, labels)
        for axes in (top, bottom):
            for n in midnights:
                axes.axvline(n - 0.5, color="#d9d9d9", linewidth=1, zorder=1)
            axes.set_xlim(-0.7, max(len(hours), 1) - 0.3)
        if not counted and not any(h.abandoned for h in hours):
            _nothing(top, "no answered or abandoned calls")
        summary = (
            f"overall {percent(overall)} of {answered} answered"
            if overall is not None
            else "no service level yet"
        )
        _headline(figure, f"Service level by {unit}", f"{window.label()} · {summary}")
        save(figure, path)


def _share_line(top: Axes, hours: Sequence[ServiceLevel], goal: float) -> None:
    """The service level as a line in percent, red dots below the dashed goal line."""
    x = list(range(len(hours)))
    shares = [math.nan if h.share is None else h.share * 100 for h in hours]
    top.plot(x, shares, color=BLUE, linewidth=2.2, marker="o", markersize=4, zorder=3)
    low = [(n, s) for n, s in zip(x, shares, strict=True) if s < goal * 100]
    if low:
        low_x, low_shares = zip(*low, strict=True)
        top.scatter(low_x, low_shares, color=RED, s=30, zorder=4, label="below goal")
    top.axhline(goal * 100, color=RED, linestyle="--", linewidth=1.5, zorder=2)
    top.annotate(
        f"goal\n{percent(goal, 0)}",
        xy=(1, goal * 100),
        xycoords=("axes fraction", "data"),
        xytext=(6, 0),
        textcoords="offset points",
        va="center",
        color=RED,
        fontsize=14,
        fontweight="bold",
    )
    top.set_ylim(0, 105)
    top.yaxis.set_major_locator(MultipleLocator(20))
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f} %"))


def _call_bars(bottom: Axes, hours: Sequence[ServiceLevel]) -> None:
    """Answered calls as bars, abandoned ones stacked on top."""
    x = list(range(len(hours)))
    bottom.bar(x, [h.answered for h in hours], width=0.85, color=LIGHT_BLUE, label="answered")
    bottom.bar(
        x,
        [h.abandoned for h in hours],
        width=0.85,
        bottom=[h.answered for h in hours],
        color=LIGHT_RED,
        label="abandoned",
    )
    bottom.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))


# --- lines: service level and abandon rate per line ------------------------------------------


def _line_label(row: Row) -> str:
    city = f"  {row['city']}" if row.get("city") else ""
    return f"{row['line'] or '(not known)'}{city}"


def _more(count: int, what: str) -> str:
    return f" · {count} more {what} not shown" if count > 0 else ""


def plot_lines(rows: Sequence[Row], window: Window, goal: float, path: Path) -> None:
    """Two bar panels per line, busiest on top: service level (red below the goal) and
    abandon rate."""
    busy = sorted((r for r in rows if r["offered"]), key=lambda r: (-r["offered"], r["line"]))
    shown = busy[:MAX_BARS][::-1]  # barh draws bottom-up
    y = list(range(len(shown)))
    labels = [f"{_line_label(r)}  ({r['offered']})" for r in shown]
    with _figure(14, 3 + 0.55 * max(len(shown), 3)) as figure:
        left, right = figure.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
        _share_bars(left, shown, goal)
        _abandon_bars(right, shown)
        left.set_yticks(y, labels)
        left.set_ylim(-0.6, len(shown) - 0.1)
        for axes in (left, right):
            axes.xaxis.set_visible(False)
            axes.spines["bottom"].set_visible(False)
            _clean(axes)
        right.spines["left"].set_visible(False)
        if not shown:
            _nothing(left, "no offered calls")
        note = "(n) = calls offered" + _more(len(busy) - len(shown), "lines")
        _headline(figure, "Lines: service level and abandoned calls", f"{window.label()} · {note}")
        save(figure, path)


def _share_bars(left: Axes, shown: Sequence[Row], goal: float) -> None:
    """Each line's service level as a bar (blue, red below the goal, grey with no answer
    yet) with its value, and the dashed goal line."""
    y = list(range(len(shown)))
    shares = [(r["service_level"] or 0) * 100 for r in shown]
    colours = [
        GREY if r["service_level"] is None else (BLUE if r["service_level"] >= goal else RED)
        for r in shown
    ]
    left.barh(y, shares, color=colours, height=0.7)
    left.axvline(goal * 100, color=RED, linestyle="--", linewidth=1.5)
    left.text(
        goal * 100,
        len(shown) - 0.4,
        f" goal {percent(goal, 0)}",
        color=RED,
        fontsize=13,
        va="bottom",
    )
    for n, r in zip(y, shown, strict=True):
        if r["service_level"] is None:
            left.text(1, n, "no answer yet", va="center", fontsize=13, color=MUTED)
        elif shares[n] >= 20:  # inside the bar, clear of the goal line
            left.text(
                shares[n] - 1.5,
                n,
                percent(r["service_level"]),
                va="center",
                ha="right",
                fontsize=14,
                color="white",
                fontweight="bold",
            )
        else:
            left.text(
                shares[n] + 1,
                n,
                percent(r["service_level"]),
                va="center",
                fontsize=14,
                color=INK,
            )
    left.set_xlim(0, 105)
    left.set_title("Service level")


def _abandon_bars(right: Axes, shown: Sequence[Row]) -> None:
    """Each line's abandon rate as a bar with its value at the end."""
    y = list(range(len(shown)))
    rates = [(r["abandon_rate"] or 0) * 100 for r in shown]
    right.barh(y, rates, color=LIGHT_RED, height=0.7)
    top_rate = max([*rates, 10.0])
    for n, r in zip(y, shown, strict=True):
        text = "-" if r["abandon_rate"] is None else percent(r["abandon_rate"])
        right.text(rates[n] + top_rate * 0.02, n, text, va="center", fontsize=13, color=INK)
    right.set_xlim(0, top_rate * 1.3)
    right.set_title("Abandoned")


# --- unreachable: reports per line ---------------------------------------------------------------


def plot_unreachable(counts: Sequence[Row], window: Window, path: Path) -> None:
    """Reports per reported line as horizontal bars, the most reported on top."""
    shown = list(counts[:MAX_BARS])[::-1]
    y = list(range(len(shown)))
    values = [int(r["reports"]) for r in shown]
    total = sum(int(r["reports"]) for r in counts)
    with _figure(13, 2.8 + 0.55 * max(len(shown), 3)) as figure:
        axes = figure.subplots()
        axes.barh(y, values, color=RED, height=0.7)
        top = max([*values, 1])
        for n, value in zip(y, values, strict=True):
            axes.text(
                value + top * 0.01,
                n,
                str(value),
                va="center",
                fontsize=14,
                fontweight="bold",
                color=INK,
            )
        axes.set_yticks(y, [_line_label(r) if r["line"] else "(not known)" for r in shown])
        axes.set_xlim(0, top * 1.12)
        axes.set_ylim(-0.6, max(len(shown), 1) - 0.4)
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        _clean(axes)
        if not shown:
            _nothing(axes, "no reports")
        note = f"{total} reports" + _more(len(counts) - len(shown), "lines")
        _headline(figure, "Unreachable-number reports by line", f"{window.label()} · {note}")
        save(figure, path)


# --- agents: how the logged-in time was spent --------------------------------------------


def time_split(stats: AgentStats) -> dict[str, float]:
    """Seconds logged in by use: in calls, ringing, ready and idle, not ready; they add
    up to the logged-in time (in-call time from occupancy)."""
    available = max(0.0, stats.logged_in_seconds - stats.not_ready_seconds)
    talk = (stats.occupancy or 0.0) * available
    ringing = min(stats.ringing_seconds, max(0.0, available - talk))
    return {
        "talk": talk,
        "ringing": ringing,
        "ready, idle": max(0.0, available - talk - ringing),
        "not ready": min(stats.not_ready_seconds, stats.logged_in_seconds),
    }


SPLIT_COLOURS = {"talk": BLUE, "ringing": AMBER, "ready, idle": PALE_GREEN, "not ready": GREY}


def plot_agents(
    stats: Sequence[AgentStats], names: Mapping[str, str], window: Window, path: Path
) -> None:
    """Each agent's logged-in time as one stacked bar: talk / ringing / ready idle / not
    ready; occupancy at the end of the bar."""
    shown = list(stats[:MAX_BARS])[::-1]
    y = list(range(len(shown)))
    splits = [time_split(s) for s in shown]
    longest = max([s.logged_in_seconds for s in shown] + [1.0])
    unit, scale = ("hours", 3600.0) if longest >= 2 * 3600 else ("minutes", 60.0)
    with _figure(14, 3.2 + 0.6 * max(len(shown), 3)) as figure:
        axes = figure.subplots()
        left = [0.0] * len(shown)
        for part, colour in SPLIT_COLOURS.items():
            widths = [s[part] / scale for s in splits]
            axes.barh(y, widths, left=left, color=colour, height=0.7, label=part)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for n, s in zip(y, shown, strict=True):
            text = "occupancy -" if s.occupancy is None else f"occupancy {percent(s.occupancy)}"
            axes.text(
                left[n] + longest / scale * 0.01, n, text, va="center", fontsize=13, color=INK
            )
        labels = [f"{s.agent}  {names.get(s.agent, '')}".rstrip() for s in shown]
        axes.set_yticks(y, labels)
        axes.set_xlim(0, longest / scale * 1.3)
        axes.set_ylim(-0.6, max(len(shown), 1) - 0.4)
        axes.set_xlabel(f"{unit} logged in")
        axes.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncols=4,
            fontsize=14,
            handlelength=1.2,
            borderaxespad=0.2,
        )
        _clean(axes, grid="x")
        if not shown:
            _nothing(axes, "no agent activity")
        note = "occupancy = in calls / (logged in - not ready)" + _more(
            len(stats) - len(shown), "agents"
        )
        _headline(figure, "Agents: how the logged-in time was spent", f"{window.label()} · {note}")
        save(figure, path)


# --- staffing: agents needed and logged in by hour ----------------------------------------


def plot_staffing(
    rows: Sequence[StaffingRow], window: Window, goals: str, queue: str | None, path: Path
) -> None:
    """Agents logged in per hour (bars, the most at once as a tick) under the agents Erlang
    C says were needed (a step line, hours short of agents in red); calls per hour below."""
    x = list(range(len(rows)))
    needed = [math.nan if r.needed is None else r.needed for r in rows]
    with _figure(14, 8) as figure:
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        top.bar(
            x,
            [r.logged_in_average for r in rows],
            width=0.85,
            color=LIGHT_BLUE,
            label="logged in (average)",
        )
        top.scatter(
            x,
            [r.logged_in_max for r in rows],
            marker="_",
            s=160,
            color=BLUE,
            zorder=3,
            label="logged in (most at once)",
        )
        top.step(x, needed, where="mid", color=INK, linewidth=2.2, zorder=4, label="needed")
        short = [(n, r.needed) for n, r in zip(x, rows, strict=True) if (r.gap or 0) > 0]
        if short:
            top.scatter(*zip(*short, strict=True), color=RED, s=36, zorder=5, label="short")
        top.set_title(f"Agents per hour (needed: {goals}, Erlang C)")
        highest = max([*(r.logged_in_max for r in rows), *(r.needed or 0 for r in rows), 1])
        top.set_ylim(0, highest * 1.15)
        top.yaxis.set_major_locator(MaxNLocator(integer=True))
        top.legend(loc="lower left", ncols=4, bbox_to_anchor=(0, 1.06), borderaxespad=0.1)
        _clean(top, grid="y")
        bottom.bar(x, [r.offered for r in rows], width=0.85, color=GREY)
        bottom.set_title("Calls offered per hour")
        bottom.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        _clean(bottom, grid="y")
        ticks, labels, midnights = _hour_ticks([r.hour for r in rows])
        bottom.set_xticks(ticks, labels)
        for axes in (top, bottom):
            for n in midnights:
                axes.axvline(n - 0.5, color="#d9d9d9", linewidth=1, zorder=1)
            axes.set_xlim(-0.7, max(len(rows), 1) - 0.3)
        if not any(r.offered for r in rows) and not any(r.logged_in_max for r in rows):
            _nothing(top, "no calls and no agent logged in")
        peak = max((r.needed or 0 for r in rows), default=0)
        scope = f"queue {queue}" if queue else "all queues"
        note = f"{scope} · peak {peak} needed · {sum(1 for _ in short)} hours short"
        _headline(figure, "Staffing by hour", f"{window.label()} · {note}")
        save(figure, path)

"""Every plot writes a real image: PNG bytes that matplotlib reads back, with no missing
glyphs for Cyrillic labels; empty and long windows draw too."""

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.image import imread

from ivr.reports.plots import (
    plot_agents,
    plot_lines,
    plot_sla,
    plot_staffing,
    plot_unreachable,
    time_split,
)
from ivr.reports.staffing import StaffingRow
from ivr.reports.window import Window
from ivr.storage.kpi import AgentStats
from ivr.storage.service_level import ServiceLevel
from tests.unit.reports.seed import DAY, KYIV

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def hours(count: int, start: datetime = DAY.since) -> list[ServiceLevel]:
    levels = []
    for n in range(count):
        key = (start + timedelta(hours=n)).astimezone(KYIV).strftime("%Y-%m-%dT%H:00")
        busy = 8 <= (n % 24) <= 20
        answered, within = (20, 15 + n % 6) if busy else (0, 0)
        share = within / answered if answered else None
        levels.append(ServiceLevel(key, answered + 2 * busy, answered, within, 2 * busy,
                                   busy, share, 12.0, 180.0, 0))  # fmt: skip
    return levels


LINES = [
    {"line": "5551000", "city": "Київ", "offered": 120, "service_level": 0.91,
     "abandon_rate": 0.04},
    {"line": "5553000", "city": "Lviv", "offered": 40, "service_level": 0.55,
     "abandon_rate": 0.2},
    {"line": "5554000", "city": "", "offered": 3, "service_level": None, "abandon_rate": 1.0},
    {"line": "", "city": "", "offered": 0, "service_level": None, "abandon_rate": None},
]  # fmt: skip
COUNTS = [
    {"line": "5554000", "city": "Одеса", "reports": 12},
    {"line": "5552002", "city": "Lviv", "reports": 3},
    {"line": "", "city": "", "reports": 1},
]


def agent(name: str, occupancy: float | None, logged_in: float = 8 * 3600) -> AgentStats:
    return AgentStats(name, 30, 5400.0, 180.0, logged_in, 3600.0, 240.0, 33, 3, occupancy)


AGENTS = [agent("1001", 0.6), agent("1002", None, 0.0), agent("1003", 0.95, 10 * 3600)]
NAMES = {"1001": "Олена Коваленко", "1003": "Ірина Бондаренко"}


def check_png(path: Path, min_width: int = 1000) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    height, width, channels = image.shape
    assert width >= min_width and height >= 400 and channels in (3, 4)
    assert image[..., :3].std() > 0.05  # not a blank canvas


def staffing(count: int) -> list[StaffingRow]:
    rows = []
    for level in hours(count):
        busy = level.offered > 0
        rows.append(StaffingRow(level.key, level.offered, 190.0 if busy else None,
                                level.offered * 190 / 3600, 4 if busy else 0,
                                3.5 if busy else 0.5, 5 if busy else 1))  # fmt: skip
    return rows


Draw = Callable[[Path], None]
PLOTS: dict[str, Draw] = {
    "sla_day": lambda p: plot_sla(hours(24), DAY, "20 s", 0.8, p),
    "sla_week": lambda p: plot_sla(hours(24 * 7), DAY, "20 s", 0.8, p),
    "sla_quarter": lambda p: plot_sla(hours(24 * 90), DAY, "20-30 s", 0.8, p),
    "lines": lambda p: plot_lines(LINES, DAY, 0.8, p),
    "unreachable": lambda p: plot_unreachable(COUNTS, DAY, p),
    "agents": lambda p: plot_agents(AGENTS, NAMES, DAY, p),
    "staffing_day": lambda p: plot_staffing(staffing(24), DAY, "80 % within 20 s", None, p),
    "staffing_week": lambda p: plot_staffing(staffing(24 * 7), DAY, "80 % within 20 s", "tv", p),
}
EMPTY: dict[str, Draw] = {
    "sla": lambda p: plot_sla(hours(0), DAY, "20 s", 0.8, p),
    "sla_no_calls": lambda p: plot_sla(hours(6, DAY.since - timedelta(hours=7)), DAY, "", 0.8, p),
    "lines": lambda p: plot_lines([], DAY, 0.8, p),
    "unreachable": lambda p: plot_unreachable([], DAY, p),
    "agents": lambda p: plot_agents([], {}, DAY, p),
    "staffing": lambda p: plot_staffing([], DAY, "80 % within 20 s", None, p),
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plots_are_png_files_without_missing_glyphs(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Glyph 1054 missing from font(s)"
        PLOTS[name](path)
    check_png(path)


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_plots_of_nothing_still_draw(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    EMPTY[name](path)
    check_png(path)


def test_svg_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "reports.svg"
    plot_unreachable(COUNTS, DAY, path)
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_a_daylight_saving_day_has_25_hours(tmp_path: Path) -> None:
    # 2026-10-25 in Kyiv: 03:00 happens twice (the keys repeat); the plot takes them as given.
    since = datetime(2026, 10, 24, 21, tzinfo=UTC)
    window = Window(since, since + timedelta(hours=25), KYIV)
    levels = hours(25, since)
    assert len({h.key for h in levels}) == 24
    plot_sla(levels, window, "20 s", 0.8, tmp_path / "dst.png")
    check_png(tmp_path / "dst.png")


def test_time_split_adds_up_to_the_logged_in_time() -> None:
    split = time_split(agent("1001", 0.6))
    assert split == pytest.approx(
        {"talk": 0.6 * 7 * 3600, "ringing": 240.0, "ready, idle": 0.4 * 7 * 3600 - 240,
         "not ready": 3600.0}
    )  # fmt: skip
    assert sum(split.values()) == pytest.approx(8 * 3600)
    assert sum(time_split(agent("1002", None, 0.0)).values()) == 0

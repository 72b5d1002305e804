"""`make demo`, the supervisor's side: the live dashboard (printed, and a screenshot taken in
headless Chromium), a look at /metrics, and the reports with their plots."""

import argparse
import asyncio
import json
import shutil
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.config import Settings
from ivr.reports.cli import add_report_parser, run_report

CHROMIUM = "chromium"


def _get(url: str, token: str = "") -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        body: bytes = r.read()
        return body


async def fetch_json(url: str, token: str = "") -> Any:
    return json.loads(await asyncio.to_thread(_get, url, token))


def _share(value: object) -> str:
    return f"{value:.0%}" if isinstance(value, float) else "-"


def _secs(value: object) -> str:
    return f"{value:.1f} s" if isinstance(value, float) else "-"


def print_dashboard(snapshot: Mapping[str, Any]) -> None:
    """The figures the dashboard shows, as text."""
    t = snapshot["totals"]
    print(
        f"\ndashboard (today since {snapshot['since']}): service level {_share(t['service_level'])}"
        f", ASA {_secs(t['asa'])}, average talk {_secs(t['average_talk'])}, abandon rate "
        f"{_share(t['abandon_rate'])}, over the talk guideline {t['over_guideline']}, open "
        f"callbacks {t['open_callbacks']}, unreachable reports {t['unreachable_reports']}"
    )
    for q in snapshot["queues"]:
        if q["offered"]:
            print(
                f"  queue {q['key']:<12} offered {q['offered']}  answered {q['answered']}  "
                f"SL {_share(q['service_level'])}  ASA {_secs(q['asa'])}  "
                f"abandon {_share(q['abandon_rate'])}"
            )
    for a in snapshot["agents"]:
        print(
            f"  agent {a['id']:<5} {a['state']:<10} answered {a['answered']}  occupancy "
            f"{_share(a['occupancy'])}  not ready {_secs(a['not_ready_seconds'])}  ringing "
            f"{_secs(a['ringing_seconds'])}"
        )
    for u in snapshot["unreachable"]:
        print(f"  unreachable reports against {u['line'] or '(not given)'}: {u['reports']}")


def print_metrics(text: str) -> None:
    names = ("ivr_overall_service_level_ratio", "ivr_overall_answered_calls", "ivr_agents{")
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    print(f"\n/metrics: {len(samples)} samples for Prometheus, e.g.")
    for line in samples:
        if line.startswith(names):
            print(f"  {line}")


# The page has data once its live stream delivered a snapshot: "updated ..." replaces
# "no data yet" and the link reads live. Only then is the screenshot worth taking.
RENDERED = """() => document.querySelector('#live-status')?.dataset.state === 'live'
    && document.querySelector('#updated')?.textContent !== 'no data yet'"""


async def screenshot(url: str, path: Path, timeout: float = 20.0) -> str:
    """The dashboard as a supervisor sees it, in headless Chromium, taken once the page has
    rendered the live data (not its empty first paint); a note on failure."""
    chromium = shutil.which(CHROMIUM)
    if chromium is None:
        return "no screenshot: chromium is not installed"
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return "no screenshot: playwright is not installed (pip install -e '.[dev]')"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, headless=True)
            try:
                page = await browser.new_page(viewport={"width": 1600, "height": 1000})
                await page.goto(url)
                await page.wait_for_function(RENDERED, timeout=timeout * 1000)
                answered = await page.locator("#kpi-answered").text_content()
                level = await page.locator("#kpi-service-level").text_content()
                await page.screenshot(path=str(path), full_page=True)
            finally:
                await browser.close()
    except Exception as exc:  # Playwright's TimeoutError and a browser that will not start
        return f"no screenshot: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return f"dashboard screenshot: {path} (live data: {answered} answered, SL {level})"


async def show_dashboard(base: str, var: Path) -> None:
    print_dashboard(await fetch_json(f"{base}/api/dashboard"))
    print_metrics((await asyncio.to_thread(_get, f"{base}/metrics")).decode())
    print(await screenshot(f"{base}/dashboard", var / "demo-dashboard.png"))


def print_reports(settings: Settings, var: Path) -> None:
    """`ivr report ...` on the demo's store, with the plots written next to it."""
    parser = argparse.ArgumentParser(prog="ivr")
    add_report_parser(parser.add_subparsers(dest="command"))
    kinds = (
        ("sla", "sla"),
        ("unreachable", "unreachable"),
        ("agents", None),
        ("prediction", None),
        ("staffing", "staffing"),
    )
    for kind, plot in kinds:
        argv = ["report", kind, *(["--plot", str(var / f"demo-{plot}.png")] if plot else [])]
        print(f"\n$ ivr {' '.join(argv)}")
        run_report(settings, parser.parse_args(argv))

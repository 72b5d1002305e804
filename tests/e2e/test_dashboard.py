"""The supervisors' dashboard in headless Chromium, against the engine with real calls
through the real Asterisk: waiting callers tick and turn late, a paused agent shows his
reason, and answered calls update the service level live, without a reload."""

import asyncio
import json
import re
from pathlib import Path

import aiohttp
from playwright.async_api import Page, expect

from ivr.config import Settings
from ivr.demo.dashboard import screenshot as demo_screenshot
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.browser import WALL, assert_reads, chromium, new_page, ocr, plain, screenshot
from tests.e2e.queues_kit import TOKEN, agent, fast_queues, queue_engine

NEW, EXISTING = ["1"], ["2"]
TARGET = 4  # seconds: the answer target of the test queues
LINE = "5551000"
STATES = """() => {
  window.liveStates = [];
  new MutationObserver(() => {
    window.liveStates.push(document.getElementById("live-status").dataset.state);
  }).observe(document.getElementById("live-status"), { attributes: true });
}"""


def call(tester: AmiClient, caller: str, keys: list[str]) -> "asyncio.Task[CallReport]":
    return asyncio.create_task(place_call(tester, LINE, caller, keys, talk=30, timeout=50))


def snapshot_body() -> str:
    """One "snapshot" event in the contract's shape (a stand-in server after the engine)."""
    at = "2026-01-01T00:00:00+00:00"
    empty = {"at": at, "since": at, "timezone": "UTC", "totals": {}, "callbacks": {}}
    lists: dict[str, list[object]] = {
        key: [] for key in ("waiting", "agents", "queues", "lines", "unreachable")
    }
    return f"event: snapshot\ndata: {json.dumps(empty | lists)}\n\n"


async def report_unreachable(port: int, line: str) -> None:
    body = {
        "reported_line": line,
        "published": "site",
        "dialled_from": "380441234567",
        "problem": "no_answer",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"http://127.0.0.1:{port}/api/reports/unreachable",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as reply:
            assert reply.status == 201, await reply.text()


async def waiting_row(page: Page, caller_class: str) -> None:
    await expect(
        page.locator(f"[data-testid=waiting-row][data-class={caller_class}]")
    ).to_have_count(1)


async def test_dashboard_shows_waiting_callers_and_paused_agent_then_answers_live(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(
        tmp_path, agents={"2001": agent("2001", "first_line")}, answer_target=TARGET
    )
    errors: list[str] = []
    async with chromium() as browser, new_page(browser, errors, WALL) as page:
        async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
            await agent_behaves(tester, "2001", "0", "2")  # answers at once, talks 2 s
            await engine.agents.login("2001", paused=True, reason="briefing")
            await page.goto(f"http://127.0.0.1:{engine.settings.http_port}/")
            assert page.url.endswith("/dashboard"), page.url  # / leads to the dashboard
            status = page.get_by_test_id("live-status")
            await expect(status).to_have_attribute("data-state", "live")
            await expect(status).to_have_text("live")
            agent_row = page.locator("[data-testid=agent-row][data-agent='2001']")
            await expect(agent_row).to_have_attribute("data-state", "paused")
            await expect(agent_row.locator("[data-field=reason]")).to_have_text("briefing")

            # an existing-service caller waits: his wait ticks, then passes the target
            first = call(tester, "+380440000001", EXISTING)
            await waiting_row(page, "existing_service")
            late = page.locator("[data-testid=waiting-row][data-class=existing_service]")
            wait = late.locator("td.wait")
            seen = await wait.text_content()
            await expect(wait).not_to_have_text(seen or "", timeout=3000)
            await expect(late).to_have_class(re.compile(r"\blate-row\b"), timeout=8000)
            await expect(wait).to_have_class(re.compile(r"\blate\b"))

            # a new-connection caller joins: both wait, the agent is still paused
            second = call(tester, "+380440000002", NEW)
            await waiting_row(page, "new_connection")
            rows = page.get_by_test_id("waiting-row")
            await expect(rows).to_have_count(2)
            await expect(rows.locator("[data-field=queue]")).to_have_text(
                ["first_line", "first_line"]
            )
            await expect(page.locator("#kpi-waiting")).to_have_text("2")
            waiting_shot = await screenshot(page, tmp_path / "dashboard-waiting.png")

            # ready: the new connection is answered at once (within the target), then
            # the late caller; the page follows without a reload
            await engine.agents.ready("2001")
            await expect(rows).to_have_count(0, timeout=15000)
            await expect(page.locator("#kpi-answered")).to_have_text("2", timeout=10000)
            await expect(page.locator("#kpi-service-level")).to_have_text("50%")
            await expect(page.locator("#tile-service-level")).to_have_attribute("data-level", "bad")
            queue_row = page.locator("[data-testid=queue-row][data-queue=first_line]")
            await expect(queue_row.locator("[data-field=answered]")).to_have_text("2")
            await expect(agent_row.locator("[data-field=answered]")).to_have_text("2")
            await expect(agent_row).to_have_attribute("data-state", "ready", timeout=10000)
            line_row = page.locator(f"[data-testid=line-row][data-line='{LINE}']")
            await expect(line_row.locator("[data-field=answered]")).to_have_text("2")

            # an operator reports that another line did not work: its bar appears
            await report_unreachable(engine.settings.http_port, "5552000")
            bar = page.locator("[data-testid=unreachable-bar][data-line='5552000']")
            await expect(bar.locator(".bar-value")).to_have_text("1", timeout=5000)
            await expect(page.locator("#kpi-unreachable")).to_have_text("1")
            answered_shot = await screenshot(page, tmp_path / "dashboard-answered.png")
            reports = await asyncio.gather(first, second)
            await page.evaluate(STATES)
        # the engine has stopped: the page says so, and comes back by itself when a
        # server answers again
        await expect(status).to_have_attribute("data-state", "reconnecting", timeout=5000)
        await page.route(
            "**/api/live",
            lambda route: route.fulfill(
                status=200, content_type="text/event-stream", body=snapshot_body()
            ),
        )
        await page.wait_for_function(
            "() => window.liveStates.slice(window.liveStates.indexOf('reconnecting'))"
            ".includes('live')",
            timeout=10000,
        )
    assert [r.caller_class for r in reports] == ["existing_service", "new_connection"]
    assert not errors, errors

    waiting_text, answered_text = await asyncio.gather(
        ocr(waiting_shot, dark=True), ocr(answered_shot, dark=True)
    )
    assert_reads(
        waiting_text,
        "Waiting callers",
        "first_line",
        "existing service",
        "new connection",
        LINE,
        "Agent 2001",
        "paused",
        "briefing",
        image=waiting_shot,
    )
    assert_reads(
        answered_text,
        "Service level",
        "50%",
        "ready",
        "Agent 2001",
        "Unreachable-number reports per line",
        "5552000",
        image=answered_shot,
    )


async def test_the_demo_screenshot_shows_the_live_figures_not_the_empty_page(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    """`make demo`'s var/demo-dashboard.png is taken once the board has data: one answered
    call is on it, the link reads live, and "no data yet" is gone."""
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")})
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "1")
        await engine.agents.login("2001")
        report = await place_call(tester, LINE, "+380440000081", EXISTING, talk=5, timeout=30)
        assert report.queued_in == "first_line", report.summary()
        await engine.journal.flush()
        await engine.live.refresh()
        shot = tmp_path / "demo-dashboard.png"
        note = await demo_screenshot(
            f"http://127.0.0.1:{engine.settings.http_port}/dashboard", shot
        )
    assert note.startswith(f"dashboard screenshot: {shot} (live data: 1 answered"), note
    text = await ocr(shot, dark=True)
    assert_reads(text, "updated", "Answered", "of 1 offered", "Agent 2001", image=shot)
    assert "no data yet" not in plain(text) and "connecting" not in plain(text), text

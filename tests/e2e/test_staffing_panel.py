"""The dashboard's staffing panel in headless Chromium, against the engine after a real
call through the real Asterisk: the hour under way shows the call, the agent Erlang C says
it needed and the agent logged in."""

import re
from pathlib import Path

from playwright.async_api import expect

from ivr.config import Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.browser import WALL, assert_reads, chromium, new_page, ocr, screenshot
from tests.e2e.queues_kit import agent, fast_queues, queue_engine


async def test_the_staffing_panel_shows_the_hour_under_way(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")}, answer_target=4)
    errors: list[str] = []
    async with chromium() as browser, new_page(browser, errors, WALL) as page:
        async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
            await agent_behaves(tester, "2001", "0", "2")  # answers at once, talks 2 s
            await engine.agents.login("2001")
            report = await place_call(tester, "5551000", "+380440000061", ["2"], talk=6)
            await engine.journal.flush()
            await engine.agent_log.flush()
            await page.goto(f"http://127.0.0.1:{engine.settings.http_port}/dashboard")
            now = page.get_by_test_id("staffing-hour").last
            await expect(now).to_have_attribute("data-needed", "1", timeout=10000)
            await expect(now).to_have_attribute("title", re.compile(r": 1 call, needed 1, "))
            logged_in = float(await now.get_attribute("data-logged-in") or 0)
            hours = await page.get_by_test_id("staffing-hour").count()
            await expect(page.locator("#staffing-goal")).to_have_text(
                "needed for 80 % within 4 s (Erlang C)"
            )
            await expect(page.get_by_test_id("staffing-note")).to_contain_text("1 call, needed 1")
            shot = await screenshot(page, tmp_path / "staffing-panel.png", "#staffing-panel")
    assert report.queued_in == "first_line", report.summary()
    assert 0 < logged_in <= 1  # agent 2001, since he logged in this hour
    assert hours >= 1  # today's hours so far (the flows calendar: UTC here)
    assert not errors, errors
    assert_reads(await ocr(shot, dark=True), "Staffing by hour", "Erlang", image=shot)

"""Issue 17, mass-outage detection on the real sandbox: a burst of carrier callers (SIPp
on trunk `provider`, loopback) from one city on one line, all through the real menu to the
same first choice, raises one IvrOutageSuspected UserEvent on AMI and an open alert in the
API; the dashboard (headless Chromium) shows its banner, the supervisor clicks Post, the
banner goes and the outage is on the board; the next caller from that city hears the
outage announcement (the outage step's `active` branch), with no second alert.
Two engines on one PostgreSQL raise one alert: only the owner counts; after a takeover the
new owner knows the spike from the table, raises it no second time and ends it."""

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from ivr.config import PROJECT_ROOT, Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.web.tokens import Principal, token_entry
from tests.e2e.browser import WALL, chromium, new_page, screenshot
from tests.e2e.conftest import engine_settings, eventually, pg_url, started
from tests.e2e.engine_subprocess import start_engine
from tests.e2e.queues_kit import hang_up_everything
from tests.e2e.sip_menu import sip_callers_through_the_menu
from tests.unit.engine_process import free_port

KYIV_SUBSCRIBER = "380441234567"  # contract 10000001 in data/demo-store.yaml, city Kyiv
CALLERS = 4  # the burst: outage_alerts.min_calls below, no usual level (a fresh journal)
TOKEN = "supervisor-token-outage-alerts-test"
PORT = 18097
CHECK = 0.3  # s between the engine's counts
OUTAGE_ALERTS = """outage_alerts:
  window: {window}
  min_calls: 4
  check_interval: 0.3
"""


def scaled_queues(tmp_path: Path, window: float = 300) -> Path:
    """The shipped queues.yaml with the alert floor at the burst's size, checked often."""
    text = (PROJECT_ROOT / "queues.yaml").read_text(encoding="utf-8")
    start = text.index("outage_alerts:")
    end = text.index("\n\n", start)
    block = OUTAGE_ALERTS.format(window=window).rstrip("\n")
    path = tmp_path / "queues.yaml"
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")
    return path


def outage_events(into: list[dict[str, Any]]) -> Any:
    """An AMI listener keeping the engines' IvrOutage* UserEvents, with the tester's time."""

    def on_user_event(event: Any) -> None:
        if str(event.get("UserEvent", "")).startswith("IvrOutage"):
            into.append({**dict(event), "seen_at": time.time()})

    return on_user_event


async def post_from_the_dashboard(base: str, alert: dict[str, Any], tmp_path: Path) -> None:
    """The banner shows the alert; the supervisor gives his token and clicks Post."""
    errors: list[str] = []
    async with chromium() as browser, new_page(browser, errors, WALL) as page:
        await page.goto(f"{base}/dashboard")
        banner = page.locator("[data-testid=outage-alert]")
        await expect(banner).to_have_count(1, timeout=10_000)
        await expect(banner).to_contain_text("Suspected outage in Kyiv")
        await expect(banner).to_contain_text("line 5551000 · menu:2")
        await expect(page.get_by_test_id("outage-message")).to_have_value(alert["message"])
        await screenshot(page, tmp_path / "outage-alert.png", "[data-testid=outage-alerts]")
        await page.get_by_test_id("outage-token").fill(TOKEN)
        await page.get_by_test_id("outage-post").click()
        await expect(page.get_by_test_id("outage-status")).to_contain_text("Outage posted for Kyiv")
        await expect(banner).to_have_count(0)
    assert errors == []


async def test_a_burst_from_one_city_raises_an_alert_that_posts_the_outage(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    await hang_up_everything(sandbox)
    custom = engine_settings(
        settings,
        tmp_path,
        queues_file=str(scaled_queues(tmp_path)),
        api_tokens=token_entry(Principal("supervisor"), TOKEN),
        http_port=PORT,
    )
    engine = await started(custom)
    suspected: list[dict[str, Any]] = []
    on_user_event = outage_events(suspected)
    tester.on_event("UserEvent", on_user_event)
    base, auth = f"http://127.0.0.1:{PORT}", {"Authorization": f"Bearer {TOKEN}"}
    try:
        # main menu 2 (support) -> known by his number (Kyiv) -> no outage -> 1 (internet)
        calls = await sip_callers_through_the_menu(
            sandbox, tester, tmp_path, CALLERS, ["2", "1"], caller_id=KYIV_SUBSCRIBER
        )
        assert len(calls.routes) == CALLERS, calls.routes
        assert all("menu:2" in r["Path"] for r in calls.routes.values()), calls.routes
        await eventually(lambda: suspected, timeout=15)
        [event] = suspected
        # the 4th caller's route reached the journal (it joined its queue just after)
        raised_in = event["seen_at"] - max(calls.joined.values())
        assert (event["City"], event["Line"], event["Choice"]) == ("Kyiv", "5551000", "menu:2")
        assert int(event["Calls"]) >= CALLERS and float(event["Usual"]) == 0.0, event

        async with aiohttp.ClientSession() as http:
            listed = await (await http.get(f"{base}/api/outage-alerts?status=open")).json()
            [alert] = listed["alerts"]
            assert str(alert["id"]) == event["AlertID"]
            assert alert["message"] == "масові звернення, фахівці вже перевіряють мережу"
            await post_from_the_dashboard(base, alert, tmp_path)
            [posted] = (await (await http.get(f"{base}/api/outage-alerts")).json())["alerts"]
            assert posted["status"] == "posted" and posted["handled_by"].startswith("supervisor")
            board = await (await http.get(f"{base}/api/outages?active=true")).json()
            [outage] = [o for o in board["outages"] if o["id"] == posted["outage_id"]]
            assert (outage["area"], outage["message"]) == ("Kyiv", alert["message"])
            assert await (await http.get(f"{base}/api/outage-alerts?status=open")).json() == {
                "alerts": []
            }
            again = await http.post(f"{base}/api/outage-alerts/{alert['id']}/post", headers=auth)
            assert again.status == 409, await again.text()
            assert (await again.json())["error"] == f"outage alert {alert['id']} is already posted"

        # the next Kyiv caller hears the outage and chooses to queue anyway (1)
        after = await place_call(tester, "5551000", KYIV_SUBSCRIBER, ["2", "1", "1"], timeout=60)
        assert "outage:active>outage_choice:1" in after.path, after.summary()
        assert after.queued_in == "internet", after.summary()
        assert len(suspected) == 1, suspected  # the same spike: no second alert
        print(f"IvrOutageSuspected {raised_in:+.2f} s from the last burst caller's queue join")
    finally:
        tester.off_event("UserEvent", on_user_event)
        await engine.stop()


@pytest.mark.postgres
async def test_two_engines_raise_one_alert_and_the_new_owner_ends_the_spike(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, pg_schema: str
) -> None:
    await hang_up_everything(sandbox)
    window = 90.0  # the burst's calls leave it a minute after the alert: the spike ends
    queues, database = scaled_queues(tmp_path, window), pg_url(pg_schema)
    work_a, work_b = tmp_path / "a", tmp_path / "b"
    work_a.mkdir()
    work_b.mkdir()
    events: list[dict[str, Any]] = []
    on_user_event = outage_events(events)
    tester.on_event("UserEvent", on_user_event)
    # engine-a serves the menus and owns the Asterisk; engine-b (its own process) stands by
    owner = await started(
        engine_settings(
            settings, work_a, database_url=database, queues_file=str(queues), engine_id="a"
        )
    )
    standby, owner_running = None, True
    try:
        await eventually(owner.acting, timeout=5)
        config = engine_settings(
            settings,
            work_b,
            database_url=database,
            queues_file=str(queues),
            engine_id="b",
            agi_port=free_port(),
        )
        standby = await asyncio.to_thread(start_engine, config, work_b / "engine.log")
        assert standby.health()["owner"] is False
        await sip_callers_through_the_menu(
            sandbox, tester, tmp_path, CALLERS, ["2", "1"], caller_id=KYIV_SUBSCRIBER
        )
        await eventually(lambda: events, timeout=15)
        await asyncio.sleep(5 * CHECK)  # five more counts by each engine: nothing new
        [raised] = events
        assert (raised["UserEvent"], raised["City"], raised["Choice"]) == (
            "IvrOutageSuspected", "Kyiv", "menu:2",
        )  # fmt: skip

        await owner.stop()  # frees the lease: engine-b takes over at once
        owner_running = False
        taken = time.time()
        await eventually(lambda: standby.health()["owner"] is True, timeout=10)
        await eventually(lambda: len(events) > 1, timeout=window + 10)
        ended = events[1]
        assert (ended["UserEvent"], ended["City"], ended["Choice"]) == (
            "IvrOutageSubsided", "Kyiv", "menu:2",
        )  # fmt: skip
        assert ended["seen_at"] > taken and len(events) == 2, events  # by engine-b, once
        url = f"http://127.0.0.1:{standby.http_port}/api/outage-alerts"
        async with aiohttp.ClientSession() as http:
            [alert] = (await (await http.get(url)).json())["alerts"]
        assert str(alert["id"]) == raised["AlertID"] and alert["subsided_at"] is not None
        print(
            f"one alert from 2 engines; the spike ended by the new owner "
            f"{ended['seen_at'] - raised['seen_at']:.1f} s after it was raised"
        )
    finally:
        tester.off_event("UserEvent", on_user_event)
        if standby is not None:
            standby.stop()
        if owner_running:
            await owner.stop()

"""The dashboard's "Predicted wait" panel in headless Chromium, on the real web app and
store: today's predicted against real waits per queue (GET /api/prediction), drawn by
prediction.js beside the rest of the board."""

import asyncio
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from ivr.events.model import CallAbandoned, CallAnswered, CallQueued, CallStarted, WaitPredicted
from ivr.storage.journal import JournalEvent, write_events
from tests.e2e.browser import chromium, new_page
from tests.web.kit import T0, Kit

Client = TestClient[web.Request, web.Application]


def predicted(call_id: str, queue: str, guess: float, wait: float) -> list[JournalEvent]:
    queued = T0 - timedelta(minutes=30)
    done = queued + timedelta(seconds=wait)
    return [
        CallStarted(call_id, "5551000", "380671112233", "PJSIP/x-1", queued),
        CallQueued(call_id, queue, 1, queued),
        WaitPredicted(call_id, queue, 1, 0, 1, 60.0, guess, 20.0, queued),
        CallAnswered(call_id, queue, "1001", "PJSIP/1001-1", wait, False, done)
        if wait < 100
        else CallAbandoned(call_id, queue, wait, done),
    ]


async def test_the_panel_shows_todays_prediction_quality_per_queue(
    kit: Kit, client: Client
) -> None:
    events = [
        *predicted("i1", "internet", 60.0, 85.0),  # 25 s longer than predicted
        *predicted("i2", "internet", 60.0, 50.0),  # 10 s shorter
        *predicted("t1", "tv", 30.0, 130.0),  # abandoned 100 s after the prediction
    ]
    await asyncio.to_thread(write_events, kit.sessions, events)
    errors: list[str] = []
    async with chromium() as browser, new_page(browser, errors) as page:
        await page.goto(str(client.make_url("/")))
        rows = page.get_by_test_id("prediction-row")
        await expect(rows).to_have_count(3)  # two queues and all of them
        internet = page.locator("[data-testid=prediction-row][data-queue=internet]")
        await expect(internet.locator("[data-field=calls]")).to_have_text("2")
        await expect(internet.locator("[data-field=error]")).to_have_text(
            "0:17"
        )  # 17.5 s, whole seconds as the board shows them
        await expect(internet.locator("[data-field=bias]")).to_have_text("+0:07")
        await expect(internet.locator("[data-field=share]")).to_have_text("100%")
        tv = page.locator("[data-testid=prediction-row][data-queue=tv]")
        await expect(tv.locator("[data-field=share]")).to_have_text("0%")
        total = page.locator("[data-testid=prediction-row][data-queue=all]")
        await expect(total.locator("[data-field=queue]")).to_have_text("All queues")
        await expect(page.locator("#prediction-empty")).to_be_hidden()
        await expect(page.locator("#prediction-within")).to_have_text("±30 s")
    assert [e for e in errors if "prediction" in e] == [], errors

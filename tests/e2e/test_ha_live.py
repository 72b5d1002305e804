"""Two engines on one PostgreSQL and the real Asterisk: the standby (its own process, so
no memory is shared) shows on its dashboard, API and /metrics the caller waiting on the
owner's Asterisk and the owner's agents, within about 2 s, from the live state the owner
writes to the database (its supervisors' page says where the data comes from); the caller
gone, he goes from the standby's board too. Figures are printed (pytest -s)."""

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from ivr.config import Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.browser import WALL, chromium, new_page
from tests.e2e.conftest import eventually, pg_url
from tests.e2e.engine_subprocess import EngineSubprocess
from tests.e2e.queues_kit import AmiLog, agent, event, fast_queues, queue_engine
from tests.e2e.test_ha import subprocess_engine

pytestmark = pytest.mark.postgres

SHOWN_WITHIN = 2.5  # s from the join to the standby's board: a write and a read, ~1 s each


def get(engine: EngineSubprocess, path: str) -> Any:
    url = f"http://127.0.0.1:{engine.http_port}{path}"
    with urllib.request.urlopen(url, timeout=5) as reply:
        body = reply.read().decode()
    return body if path == "/metrics" else json.loads(body)


async def board(engine: EngineSubprocess) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(get, engine, "/api/dashboard")
    return result


async def shown_waiting(engine: EngineSubprocess, call_id: str, timeout: float) -> float:
    """The tester's loop time when the engine's board first lists `call_id` waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if any(w["call_id"] == call_id for w in (await board(engine))["waiting"]):
            return loop.time()
        await asyncio.sleep(0.05)
    pytest.fail(f"{call_id} not on the standby's board within {timeout} s")


async def standby_page_shows(standby: EngineSubprocess, call_id: str) -> None:
    """The supervisors' page on the standby (headless Chromium): the caller's row, and
    where the live data comes from."""
    errors: list[str] = []
    async with chromium() as browser, new_page(browser, errors, WALL) as page:
        await page.goto(f"http://127.0.0.1:{standby.http_port}/dashboard")
        rows = page.get_by_test_id("waiting-row")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-call-id", call_id)
        await expect(rows.first).to_have_attribute("data-queue", "first_line")
        source = page.get_by_test_id("live-source")
        await expect(source).to_contain_text("live from engine-a")
        await expect(source).to_have_attribute("data-state", "live")
    assert errors == [], errors


async def test_the_standby_shows_the_caller_waiting_on_the_owner_s_asterisk(
    sandbox: Sandbox,
    settings: Settings,
    tester: AmiClient,
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")}, answer_target=60)
    database = pg_url(pg_schema)
    lines: list[str] = []
    async with queue_engine(
        sandbox, settings, tmp_path, queues, database_url=database, engine_id="engine-a"
    ) as owner:  # serves the menus and owns the live actions
        await eventually(owner.acting, timeout=5)
        standby = await asyncio.to_thread(
            subprocess_engine, settings, tmp_path, "engine-b", database, queues
        )
        try:
            assert standby.health()["owner"] is False
            await owner.agents.login("2001", paused=True, reason="briefing")
            log = AmiLog()
            tester.on_event("*", log)
            caller = asyncio.create_task(
                place_call(tester, "5551000", "+380440000001", ["2"], talk=30, timeout=50)
            )
            joined, join = await log.wait_for(event("QueueCallerJoin", Queue="first_line"), 30)
            call_id = str(join["Uniqueid"])
            delay = await shown_waiting(standby, call_id, timeout=10) - joined
            lines.append(f"the standby showed the caller {delay:.2f} s after he joined")
            assert delay <= SHOWN_WITHIN

            seen = await board(standby)
            mine = owner.live.snapshot()  # the same instant, as the owner sees it
            [waiting] = seen["waiting"]
            assert (waiting["queue"], waiting["caller_class"]) == ("first_line", "existing_service")
            [owners] = mine["waiting"]
            assert abs(waiting["wait"] - owners["wait"]) < 0.5, (waiting, owners)
            lines.append(f"wait: {waiting['wait']} s on the standby, {owners['wait']} on the owner")
            [live] = seen["live"]
            assert (live["source"], live["owner"]) == ("shared", "engine-a")
            assert live["age"] <= 2.0
            [paused] = [a for a in seen["agents"] if a["id"] == "2001"]
            assert (paused["state"], paused["reason"]) == ("paused", "briefing")
            assert [
                a["id"] for a in (await asyncio.to_thread(get, standby, "/api/agents"))["agents"]
            ] == ["2001"]
            api = await asyncio.to_thread(get, standby, "/api/queues")
            assert [w["call_id"] for w in api["queues"]["first_line"]["waiting"]] == [call_id]
            metrics = await asyncio.to_thread(get, standby, "/metrics")
            assert 'ivr_waiting_callers{queue="first_line"} 1.0' in metrics
            health = standby.health()["live_state"]
            assert isinstance(health, dict) and health["read_error"] is None
            await standby_page_shows(standby, call_id)

            await tester.send({"Action": "Hangup", "Channel": join["Channel"]}, timeout=5)
            gone = time.monotonic()
            await eventually(lambda: not get(standby, "/api/dashboard")["waiting"], timeout=5)
            lines.append(f"gone from the standby's board {time.monotonic() - gone:.2f} s later")
            await asyncio.wait_for(caller, 30)
            tester.off_event("*", log)
        finally:
            standby.stop()
            with capsys.disabled():
                print("\n" + "\n".join(lines))

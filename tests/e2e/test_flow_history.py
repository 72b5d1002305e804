"""The flow history and replay on the real Asterisk: a SIP caller keys through the menu
and is journalled with his keys, then `ivr flow replay` reports that edited flows would
route him elsewhere; an API reload is kept in the history, a rollback restores the files
and the next real call routes by the restored flow, through the API and the dashboard."""

import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Dialog, expect

from ivr.app import Engine
from ivr.config import Settings
from ivr.flow.snapshot import read_snapshot
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.browser import WALL, chromium, new_page, screenshot
from tests.e2e.conftest import engine_settings, eventually, journal_row, started
from tests.e2e.queues_kit import SUPERVISOR_ONLY, TOKEN
from tests.e2e.sip_menu import sip_callers_through_the_menu

LINE, KNOWN = "5551000", "380441234567"  # contract 10000001 in data/demo-store.yaml
NEW_CONNECTION = '"1": new_connection'
TO_APPEALS = '"1": appeal'  # the edit: key 1 reaches the organisations' desk instead


def edit_main(flows: Path, old: str, new: str) -> None:
    main = flows / "main.yaml"
    text = main.read_text(encoding="utf-8")
    assert old in text
    main.write_text(text.replace(old, new), encoding="utf-8")


def replay_cli(engine: Engine, directory: Path) -> dict[str, Any]:
    """`ivr flow replay --json` as a supervisor runs it, on the engine's database."""
    env = {
        **os.environ,
        "IVR_DATABASE_URL": engine.settings.database_url,
        "IVR_FLOWS_DIR": engine.settings.flows_dir,
    }
    command = [sys.executable, "-m", "ivr", "flow", "replay", "--since", "15m", "--json"]
    done = subprocess.run(
        [*command, str(directory)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_a_sip_call_is_journalled_with_its_keys_and_replay_finds_it_moved(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path
) -> None:
    calls = await sip_callers_through_the_menu(
        sandbox, tester, tmp_path, 1, ["1"], line=LINE, caller_id=KNOWN
    )
    [route] = calls.routes.values()
    assert route["Queue"] == "connections", route
    row = await journal_row(engine, route["CallID"])
    assert row is not None and row.menu_path == "hours:1>menu:1"
    now = datetime.now(UTC)
    found = engine.repository.menu_calls(now - timedelta(minutes=15), now)
    assert [(c.call_id, c.line, c.keys) for c in found.calls] == [(row.call_id, LINE, ("1",))]

    edited = Path(shutil.copytree(engine.settings.flows_dir, tmp_path / "edited"))
    edit_main(edited, NEW_CONNECTION, TO_APPEALS)
    report = replay_cli(engine, edited)
    assert (report["replayed"], report["different"], report["without_keys"]) == (1, 1, 0)
    [moved] = report["differences"]
    assert moved["call_id"] == row.call_id and moved["keys"] == "1"
    assert moved["changes"] == [
        {"kind": "queue", "change": "queue connections -> first_line"},
        {"kind": "class", "change": "class new_connection -> non_target"},
    ]
    assert report["baseline"] == "flow version 1"  # what the engine serves: its startup

    unchanged = replay_cli(engine, Path(engine.settings.flows_dir))
    assert (unchanged["replayed"], unchanged["different"]) == (1, 0)

    # the edit saved into the engine's flows/: the watcher applies it, the history keeps it
    edit_main(Path(engine.settings.flows_dir), NEW_CONNECTION, TO_APPEALS)
    await eventually(lambda: engine.flow_history.recent(1)[0].who == "file change")
    [saved] = engine.flow_history.recent(1)
    assert saved.changed == ("main.yaml",) and f"+      {TO_APPEALS}\n" in saved.diff


@asynccontextmanager
async def api_engine(settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    """The engine with the supervisor's token; flows/ is not polled, so every version
    comes from the API (a file change would be recorded as one too)."""
    custom = engine_settings(settings, tmp_path, api_tokens=SUPERVISOR_ONLY, http_port=18081)
    engine = await started(dataclasses.replace(custom, flows_poll_interval=3600.0))
    try:
        yield engine
    finally:
        await engine.stop()


async def api(engine: Engine, method: str, path: str, body: object = None) -> Any:
    url = f"http://127.0.0.1:{engine.settings.http_port}{path}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async with http.request(method, url, json=body, headers=headers) as reply:
            assert reply.status == 200, await reply.text()
            return await reply.json()


async def test_api_reload_history_rollback_and_the_next_call_takes_the_restored_flow(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    async with api_engine(settings, tmp_path) as engine:
        flows = Path(engine.settings.flows_dir)
        original = read_snapshot(flows)
        edit_main(flows, NEW_CONNECTION, TO_APPEALS)
        assert (await api(engine, "POST", "/api/flows/reload"))["ok"]
        newest, startup = (await api(engine, "GET", "/api/flows/history"))["versions"]
        assert startup["who"] == "startup"
        assert newest["who"].startswith("api supervisor sha256:")
        assert newest["changed"] == ["main.yaml"]
        shown = await api(engine, "GET", f"/api/flows/history/{newest['id']}")
        assert f"-      {NEW_CONNECTION}\n+      {TO_APPEALS}\n" in shown["version"]["diff"]

        edited_call = await place_call(tester, LINE, KNOWN, ["1"])
        assert edited_call.queued_in == "first_line", edited_call.summary()

        # `ivr flow rollback` as a supervisor runs it: through the engine's API
        env = {
            **os.environ,
            "IVR_API_TOKEN": TOKEN,
            "IVR_HTTP_BIND": f"127.0.0.1:{engine.settings.http_port}",
        }
        command = [sys.executable, "-m", "ivr", "flow", "rollback", str(startup["id"])]
        done = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        [rolled, *_] = (await api(engine, "GET", "/api/flows/history"))["versions"]
        assert done.stdout == (
            f"flows: version {startup['id']} serves again (recorded as version {rolled['id']})\n"
        )
        assert rolled["who"].startswith(f"rollback of {startup['id']} by supervisor sha256:")
        assert read_snapshot(flows) == original
        restored_call = await place_call(tester, LINE, KNOWN, ["1"])
        assert restored_call.queued_in == "connections", restored_call.summary()
        assert (restored_call.caller_class, restored_call.priority) == ("new_connection", "10")


async def test_the_dashboard_panel_shows_the_diff_and_rolls_back_after_a_confirmation(
    sandbox: Sandbox, settings: Settings, tmp_path: Path
) -> None:
    errors: list[str] = []
    async with api_engine(settings, tmp_path) as engine, chromium() as browser:
        flows = Path(engine.settings.flows_dir)
        original = read_snapshot(flows)
        edit_main(flows, NEW_CONNECTION, TO_APPEALS)
        await api(engine, "POST", "/api/flows/reload")
        async with new_page(browser, errors, WALL) as page:
            await page.goto(f"http://127.0.0.1:{engine.settings.http_port}/dashboard")
            panel = page.get_by_test_id("flows-panel")
            await panel.locator("summary").click()
            await page.locator("#flows-token").fill(TOKEN)
            await page.get_by_role("button", name="Show versions").click()
            rows = page.get_by_test_id("flow-version-row")
            await expect(rows).to_have_count(2)
            await expect(rows.nth(0).locator("[data-field=changed]")).to_have_text("main.yaml")
            await expect(rows.nth(1).locator("[data-field=who]")).to_have_text("startup")

            await rows.nth(0).click()
            diff = page.get_by_test_id("flow-diff")
            await expect(diff.locator(".diff-removed")).to_have_text(f"-      {NEW_CONNECTION}\n")
            await expect(diff.locator(".diff-added")).to_have_text(f"+      {TO_APPEALS}\n")
            await screenshot(page, tmp_path / "flow-history-diff.png", "#flows-panel")

            asked: list[str] = []

            async def confirm(dialog: Dialog) -> None:
                asked.append(dialog.message)
                await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

            page.on("dialog", confirm)
            await rows.nth(1).click()  # the startup version
            await page.get_by_test_id("flow-rollback").click()  # dismissed: nothing happens
            await eventually(lambda: len(asked) == 1)
            await expect(page.get_by_test_id("flow-version")).to_be_visible()
            await expect(rows).to_have_count(2)
            assert read_snapshot(flows) != original
            await page.get_by_test_id("flow-rollback").click()  # accepted
            await expect(rows).to_have_count(3)
            await expect(rows.nth(0).locator("[data-field=who]")).to_contain_text("rollback of 1")
            await expect(page.locator("#flows-status")).to_contain_text("Version 1 serves again")
            assert asked[0].startswith("Put flow version 1 back into service?")
            assert read_snapshot(flows) == original
            options = engine.flows.flows["main"].nodes["menu"].spec["options"]
            assert options["1"] == "new_connection"
    assert errors == []

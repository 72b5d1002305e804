"""A stalled engine on the real Asterisk: `ivr supervise` notices within its watchdog (5 s),
kills it, and its callers take the fallback path at once instead of waiting for
IVR_AGI_DEADLINE (300 s); the restarted engine serves the next call."""

import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ivr.config import PROJECT_ROOT, Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import engine_settings, eventually
from tests.e2e.engine_subprocess import engine_env
from tests.unit.engine_process import free_port

CALLERS = 20
LATE_CALLERS = 5
WATCHDOG = 5.0
RELEASED_WITHIN = 7.0  # seconds from SIGSTOP to the fallback, for every caller
STARTED = re.compile(r"started the engine, pid (\d+)")


@contextmanager
def supervised_engine(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """`ivr supervise` (its default command: `ivr serve`) on a seeded SQLite database and the
    shipped flows with operators always open; FastAGI on the sandbox's 4573. Yields its log."""
    ours = engine_settings(settings, tmp_path)
    env = engine_env(ours, free_port())
    log = tmp_path / "supervise.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ivr", "supervise", "--watchdog", str(WATCHDOG)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    try:
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait(5)
        for pid in engine_pids(log):  # never leave an engine holding FastAGI's port
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert status == 0, log.read_text()


def engine_pids(log: Path) -> list[int]:
    return [int(pid) for pid in STARTED.findall(log.read_text())]


def ready_count(log: Path) -> int:
    return log.read_text().count("is ready after")


async def test_a_stalled_engine_is_killed_and_its_callers_fall_back_within_seconds(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    with supervised_engine(settings, tmp_path) as log:
        await eventually(lambda: ready_count(log) == 1, timeout=60)
        [stalled] = engine_pids(log)

        in_menu: set[str] = set()
        fallback_at: dict[str, float] = {}
        reasons: dict[str, str] = {}

        def on_event(event: Any) -> None:
            uid = str(event.get("Uniqueid", ""))
            if event.get("Event") == "AGIExecStart" and "GET DATA" in str(event.get("Command")):
                in_menu.add(uid)
            elif event.get("Event") == "UserEvent" and event.get("UserEvent") == "IvrFallback":
                fallback_at.setdefault(uid, time.monotonic())
                reasons[uid] = str(event.get("Reason", ""))

        tester.on_event("*", on_event)
        try:
            # Silent callers: each sits in the main menu (3 prompts of 5 s) waiting for a key.
            calls = [
                asyncio.create_task(
                    place_call(tester, "5551000", f"+3804400{i:05d}", [], timeout=90)
                )
                for i in range(CALLERS)
            ]
            await eventually(lambda: len(in_menu) >= CALLERS, timeout=30)
            await asyncio.sleep(1.0)
            stopped_at = time.monotonic()
            os.kill(stalled, signal.SIGSTOP)  # a stuck event loop, as far as anyone can tell
            await asyncio.sleep(1.0)
            # Callers who ring meanwhile: the kernel accepts their FastAGI connections for
            # the stalled engine; they fall back when it is killed, or at once after that.
            late_at = time.monotonic()
            late = [
                asyncio.create_task(
                    place_call(tester, "5551000", f"+3804401{i:05d}", [], timeout=90)
                )
                for i in range(LATE_CALLERS)
            ]
            reports = await asyncio.gather(*calls)
            late_reports = await asyncio.gather(*late)
        finally:
            tester.off_event("*", on_event)

        waits = {r.call_id: fallback_at.get(r.call_id, float("inf")) - stopped_at for r in reports}
        print(
            f"\n{CALLERS} callers, SIGSTOP to IvrFallback: max {max(waits.values()):.2f} s, "
            f"median {statistics.median(waits.values()):.2f} s, "
            f"min {min(waits.values()):.2f} s; reasons {sorted(set(reasons.values()))}"
        )
        for report in reports:
            assert report.via == "fallback", report.summary()
            assert report.queued_in == "first_line", report.summary()
            # the AGI ended when the engine's socket closed, before the engine set IVR_STATUS
            assert report.fallback_reason in ("SUCCESS/", "FAILURE/"), report.summary()
            assert waits[report.call_id] <= RELEASED_WITHIN, (waits, report.summary())
        late_waits = [fallback_at.get(r.call_id, float("inf")) - late_at for r in late_reports]
        print(f"{LATE_CALLERS} callers ringing 1 s into the stall: max {max(late_waits):.2f} s")
        for report in late_reports:
            assert report.via == "fallback", report.summary()
            assert report.queued_in == "first_line", report.summary()
        assert max(late_waits) <= RELEASED_WITHIN, late_waits
        text = log.read_text()
        killed = rf"the engine \(pid {stalled}\) sent no watchdog ping for [\d.]+ s: SIGKILL"
        assert re.search(killed, text), text

        # Restarted: the next caller goes through the menu as usual.
        await eventually(lambda: ready_count(log) == 2, timeout=60)
        assert engine_pids(log)[1] != stalled
        report = await place_call(tester, "5552000", "+380441234567", ["1"], timeout=30)
        assert report.via == "engine", report.summary()
        assert report.queued_in == "connections", report.summary()

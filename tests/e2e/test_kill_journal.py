"""kill -9 of the engine mid-burst: every call it routed (the dialplan's IvrRoute, seen by
the tester's AMI connection) has its journal row after a restart, once; the calls the
dialplan's fallback served while it was down are journalled as fallback after it returns."""

import asyncio
import re
import time
from pathlib import Path

from sqlalchemy import create_engine, select

from ivr.app import Engine
from ivr.config import Settings
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.chroot import Sandbox
from ivr.storage.models import CallRecord
from ivr.telephony import names
from ivr.telephony.ami import AmiClient
from ivr.telephony.fallback_trace import FAMILY
from tests.e2e.conftest import clear_fallback_trace, engine_settings, eventually
from tests.e2e.engine_subprocess import start_engine

CALLS = 60
KILL_AFTER_ROUTES = 12  # IvrRoute events seen before the kill: mid-burst
STAGGER = 0.08  # seconds between two callers
LINE, DTMF = "5552000", ["1"]  # the engine routes it to "connections"


def journal(url: str) -> dict[str, tuple[str | None, bool, object, str | None]]:
    db = create_engine(url)
    try:
        with db.connect() as conn:
            rows = conn.execute(
                select(
                    CallRecord.call_id,
                    CallRecord.queue,
                    CallRecord.fell_back,
                    CallRecord.routed_at,
                    CallRecord.fallback_reason,
                )
            ).all()
    finally:
        db.dispose()
    assert len(rows) == len({r.call_id for r in rows})
    return {r.call_id: (r.queue, r.fell_back, r.routed_at, r.fallback_reason) for r in rows}


async def test_kill_9_mid_burst_loses_no_routed_call_and_journals_the_fallback(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    config = engine_settings(settings, tmp_path)
    clear_fallback_trace(config)
    log_file = tmp_path / "engine.log"
    engine = await asyncio.to_thread(start_engine, config, log_file)
    routes_seen: list[str] = []
    enough = asyncio.Event()

    def on_route(event: object) -> None:
        if getattr(event, "get", None) and event.get("UserEvent") == names.EVENT_ROUTE:  # type: ignore[attr-defined]
            routes_seen.append(str(event.get("CallID", "")))  # type: ignore[attr-defined]
            if len(routes_seen) >= KILL_AFTER_ROUTES:
                enough.set()

    tester.on_event("UserEvent", on_route)
    try:
        began = time.monotonic()
        calls: list[asyncio.Task[CallReport]] = []
        for n in range(CALLS):
            caller = f"+38044{n:07d}"
            calls.append(asyncio.create_task(place_call(tester, LINE, caller, DTMF, timeout=60)))
            if n == CALLS // 2:
                await asyncio.wait_for(enough.wait(), 60)
            if enough.is_set() and engine.process.poll() is None:
                await asyncio.to_thread(engine.kill)
                killed_at = time.monotonic() - began
                routed_at_kill = len(routes_seen)
            await asyncio.sleep(STAGGER)
        reports = await asyncio.gather(*calls)
        burst_seconds = time.monotonic() - began
    finally:
        tester.off_event("UserEvent", on_route)
        engine.stop()

    routed = {r.call_id: r for r in reports if r.via == "engine"}
    fell_back = {r.call_id: r for r in reports if r.via == "fallback"}
    assert len(routed) + len(fell_back) == CALLS, [r.summary() for r in reports if not r.via]
    assert routed and fell_back, "the kill did not land mid-burst"
    assert all(r.queued_in for r in reports), "a caller was not queued"
    assert set(routes_seen) == set(routed)
    trace = await asyncio.to_thread(sandbox.cli, f"database show {FAMILY}")
    assert f"{len(fell_back)} results found" in trace, trace

    # Before the restart: what the killed engine routed and had not written yet is only
    # in its outbox on disk.
    rows_before = journal(config.database_url)
    only_on_disk = [c for c in routed if c not in rows_before or rows_before[c][2] is None]

    restarted = time.monotonic()
    engine = await asyncio.to_thread(start_engine, config, log_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            rows = journal(config.database_url)
            done = set(routed) | set(fell_back) <= set(rows)
            storage = engine.health()["storage"]
            backlog = storage["journal"]["outbox"]["rows"]  # type: ignore[index]
            if (done and backlog == 0) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        recovered = time.monotonic() - restarted
        after = await asyncio.to_thread(sandbox.cli, f"database show {FAMILY}")
    finally:
        engine.stop()

    missing_routed = sorted(set(routed) - set(rows))
    assert not missing_routed, missing_routed
    for call_id, report in routed.items():
        queue, _, routed_time, _ = rows[call_id]
        assert routed_time is not None and queue in (report.queue, report.queued_in)
    missing_fallback = sorted(set(fell_back) - set(rows))
    assert not missing_fallback, missing_fallback
    for call_id in fell_back:
        queue, flag, _, reason = rows[call_id]
        assert flag and queue == "first_line" and reason, rows[call_id]
    assert "0 results found" in after, after
    assert backlog == 0
    replayed = re.findall(r"outbox journal: replaying (\d+) events", engine.log())
    print(
        f"\n{CALLS} calls in {burst_seconds:.1f} s; kill -9 at {killed_at:.1f} s after"
        f" {routed_at_kill} IvrRoute events; routed by the engine: {len(routed)},"
        f" fallback: {len(fell_back)}; journal rows before the restart:"
        f" {len(rows_before)}; after it: {len(rows)} ({len(routed)} routed + {len(fell_back)}"
        f" fallback, all present once) within {recovered:.1f} s; routed calls only in the"
        f" outbox at the kill: {len(only_on_disk)}; journal events replayed: {replayed}"
    )


async def test_a_caller_number_with_separators_survives_the_trace(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    """The trace's separators in a caller-controlled number (URI-encoded by the dialplan)
    change nothing: the engine journals the number as Asterisk had it."""
    config = engine_settings(settings, tmp_path)
    clear_fallback_trace(config)
    seen: dict[str, str] = {}

    def on_fallback(event: object) -> None:
        if event.get("UserEvent") == names.EVENT_FALLBACK:  # type: ignore[attr-defined]
            seen[str(event.get("Uniqueid"))] = str(event.get("CallerIDNum"))  # type: ignore[attr-defined]

    tester.on_event("UserEvent", on_fallback)
    try:  # no engine: the fallback serves it
        report = await place_call(tester, "5551000", '"x" <+380|44%2C;1>', [], timeout=30)
    finally:
        tester.off_event("UserEvent", on_fallback)
    assert report.via == "fallback", report.summary()
    number = seen[report.call_id]
    assert "|" in number and "%" in number, number

    engine = Engine(config)  # not started(): it would clear the trace
    await engine.start()
    try:
        await eventually(lambda: engine.repository.get(report.call_id) is not None, 15)
        row = engine.repository.get(report.call_id)
    finally:
        await engine.stop()
    assert row is not None and row.fell_back and row.caller == number
    assert row.line == "5551000" and row.queue == "first_line" and row.started_at is not None

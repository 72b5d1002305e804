"""The fallback path with the engine stopped, on the real Asterisk: SIPp callers (the carrier,
RFC 4733 keys) meet the classic AGI scripts (agi_scripts/), which read the engine's files
and database themselves. A new-connection line keeps its priority in the fallback queue, a
subscriber's number gets existing service, a meter reading keyed in is stored; with the
database down or hanging, every caller still reaches the queue."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ivr.config import Settings
from ivr.sandbox import agi_runtime
from ivr.sandbox.asterisk_conf import AsteriskSettings
from ivr.sandbox.calls.presser import key_command
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, press_next_key
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.chroot import Sandbox
from ivr.storage.db import make_engine, make_session_factory, open_store
from ivr.storage.models import MeterReadingRecord
from ivr.storage.seed import DEMO_STORE, load_seed_file, seed_store
from ivr.telephony.ami import AmiClient
from ivr.telephony.call_port import SILENT_PROMPT
from tests.e2e.conftest import engine_settings, pg_url, started
from tests.e2e.queues_kit import AmiLog, event, hang_up_everything

SUBSCRIBER = "380441234567"  # contract 10000001 (data/demo-store.yaml)
STRANGER = "380991112233"
SERVICE, CONNECTIONS, METER = "5551000", "5552000", "5558000"  # flows/lines.yaml
FALLBACK_QUEUE = "first_line"  # queues.yaml fallback_queue
CHANNEL = "PJSIP/provider-"


def engine_is_down(settings: Settings) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((settings.agi_host, settings.agi_port)) != 0


@contextmanager
def scripts_on(sandbox: Sandbox, database_url: str) -> Iterator[None]:
    """The scripts read `database_url` (as seen from the chroot) while the block runs; the
    sandbox's own settings are written back after."""
    agi_runtime.write_settings(
        sandbox.root,
        Path(sandbox.engine_settings.flows_dir),
        Path(sandbox.engine_settings.queues_file),
        {"database_url": database_url},
    )
    try:
        yield
    finally:
        sandbox.install_agi_scripts()


@dataclass
class Caller:
    sipp: Sipp
    channel: str = ""
    started: float = 0.0  # the loop's time its SIPp started


@asynccontextmanager
async def callers(
    tester: AmiClient, tmp_path: Path, *calls: tuple[str, str, list[str]]
) -> AsyncIterator[tuple[list[Caller], AmiLog]]:
    """One SIPp carrier caller per (line, caller id, key groups), started one after the
    other; each presses its next group whenever a script's GET DATA waits for keys."""
    log = AmiLog()
    presses: list[asyncio.Task[Any]] = []

    def on_event(e: Any) -> None:
        log(e)
        asked = key_command(str(e.get("Command", ""))) if e.get("Event") == "AGIExecStart" else None
        channel = str(e.get("Channel", ""))
        if (
            asked
            and asked.get_data
            and asked.prompt != SILENT_PROMPT
            and channel.startswith(CHANNEL)
        ):
            presses.append(asyncio.ensure_future(press_next_key(tester, channel)))

    tester.on_event("*", on_event)
    started: list[Caller] = []
    try:
        for n, (line, caller_id, keys) in enumerate(calls):
            directory = tmp_path / f"caller{n}"
            script = scenario(
                "caller", directory, hold=60.0, caller_id=caller_id, keys_on_notify=keys
            )
            sipp = Sipp(
                script, target=ASTERISK_SIP, service=line, local_ip=CARRIER_IP,
                local_port=5080 + n, media_port=16100 + 10 * n, timeout=70.0,
            )  # fmt: skip
            started.append(Caller(sipp.__enter__(), started=asyncio.get_running_loop().time()))
            _, new = await log.wait_for(
                lambda e: (
                    e.get("Event") == "Newchannel"
                    and str(e.get("Channel", "")).startswith(CHANNEL)
                    and e.get("Channel") not in {c.channel for c in started}
                ),
                timeout=10,
            )
            started[-1].channel = str(new["Channel"])
        yield started, log
    finally:
        tester.off_event("*", on_event)
        for caller in started:
            caller.sipp.__exit__(None, None, None)
        await asyncio.gather(*presses, return_exceptions=True)


async def queue_entries(tester: AmiClient) -> dict[str, dict[str, Any]]:
    """The fallback queue's waiting callers by channel (QueueStatus), with the class and
    lookup outcome the script left on each channel."""
    reply = await tester.send({"Action": "QueueStatus", "Queue": FALLBACK_QUEUE})
    entries = reply if isinstance(reply, list) else []
    waiting = {str(e["Channel"]): dict(e) for e in entries if e.get("Event") == "QueueEntry"}
    for channel, entry in waiting.items():
        for name in ("IVR_CLASS", "IVR_FALLBACK_LOOKUP"):
            entry[name] = await tester.getvar(name, channel)
    return waiting


def fallback_of(log: AmiLog, channel: str) -> dict[str, Any]:
    found = log.find(lambda e: e.get("UserEvent") == "IvrFallback" and e.get("Channel") == channel)
    assert len(found) == 1, found
    return dict(found[0][1])


async def joined(log: AmiLog, channel: str, timeout: float = 20) -> float:
    """When `channel` joined the fallback queue (loop time)."""
    at, _ = await log.wait_for(
        lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Channel") == channel, timeout
    )
    return at


def script_runs(log: AmiLog, script: str) -> dict[str, tuple[float, float]]:
    """Per channel, when `script` started and ended (its AGI's Newexten, the next one)."""
    runs: dict[str, tuple[float, float]] = {}
    started: dict[str, float] = {}
    for at, e in log.events:
        channel = str(e.get("Channel", ""))
        if e.get("Event") != "Newexten" or not channel.startswith(CHANNEL):
            continue
        if channel in started:
            runs[channel] = (started.pop(channel), at)
        if e.get("Application") == "AGI" and str(e.get("AppData", "")).startswith(script):
            started[channel] = at
    return runs


def most_at_once(runs: dict[str, tuple[float, float]]) -> int:
    edges = sorted([(a, 1) for a, _ in runs.values()] + [(b, -1) for _, b in runs.values()])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


@pytest.fixture
def pg_database(pg_schema: str) -> str:
    return pg_url(pg_schema)


@pytest.fixture
def sqlite_database(sandbox: Sandbox) -> Iterator[tuple[str, str]]:
    """A seeded SQLite database inside the chroot: (the host's URL, the chroot's URL)."""
    name = f"tmp/ivr-offline-{uuid.uuid4().hex[:12]}.db"
    host = f"sqlite:///{sandbox.root / name}"
    with open_store(host) as sessions:
        seed_store(sessions, load_seed_file(DEMO_STORE))
    yield host, f"sqlite:////{name}"
    for suffix in ("", "-wal", "-shm"):
        (sandbox.root / f"{name}{suffix}").unlink(missing_ok=True)


async def test_engine_stopped_new_connection_line_waits_first_subscriber_keeps_his_class(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, pg_database: str
) -> None:
    # the engine ran and stopped: nothing answers FastAGI any more
    engine = await started(engine_settings(settings, tmp_path, database_url=pg_database))
    await engine.stop()
    assert engine_is_down(settings), "something still answers FastAGI: the engine is not down"
    await hang_up_everything(sandbox)
    with scripts_on(sandbox, pg_database):
        async with callers(
            tester, tmp_path,
            (SERVICE, STRANGER, []), (SERVICE, SUBSCRIBER, []), (CONNECTIONS, STRANGER, []),
        ) as (calls, log):  # fmt: skip
            for caller in calls:
                await joined(log, caller.channel)
            waiting = await queue_entries(tester)
            await hang_up_everything(sandbox)
    stranger, subscriber, prospect = (c.channel for c in calls)
    # QUEUE_PRIO as app_queue holds it, and the order it serves: new connection first
    assert {c: waiting[c]["Priority"] for c in waiting} == {
        stranger: "0",
        subscriber: "5",
        prospect: "10",
    }
    assert [waiting[c]["Position"] for c in (prospect, subscriber, stranger)] == ["1", "2", "3"]
    shown = {c: fallback_of(log, c) for c in (stranger, subscriber, prospect)}
    classes = [waiting[c]["IVR_CLASS"] for c in (stranger, subscriber, prospect)]
    assert classes == ["unknown", "existing_service", "new_connection"]
    assert {waiting[c]["IVR_FALLBACK_LOOKUP"] for c in waiting} == {"ok"}
    assert {e["Reason"] for e in shown.values()} == {"FAILURE/"}  # FastAGI refused: no engine
    runs = script_runs(log, "fallback_route.py")
    assert set(runs) == {stranger, subscriber, prospect}
    took = [end - start for start, end in runs.values()]
    print(f"fallback_route.py took {', '.join(f'{t:.2f}' for t in took)} s")
    assert max(took) < 3.0  # its deadline


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_engine_stopped_a_meter_reading_keyed_in_is_stored(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, backend: str,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    if backend == "postgresql":
        host_url = inside_url = request.getfixturevalue("pg_database")
    else:
        host_url, inside_url = request.getfixturevalue("sqlite_database")
    assert engine_is_down(settings), "something answers FastAGI: the engine is not down"
    await hang_up_everything(sandbox)
    with scripts_on(sandbox, inside_url):
        async with callers(
            tester, tmp_path,
            (METER, SUBSCRIBER, ["12345#"]), (METER, STRANGER, ["20000002", "777#"]),
        ) as (calls, log):  # fmt: skip
            for caller in calls:
                await log.wait_for(
                    event("IvrSelfService", Channel=caller.channel, Line=METER), timeout=60
                )
            results = [await asyncio.to_thread(c.sipp.wait, 20) for c in calls]
    for result in results:  # Asterisk hung up on them once the flow said goodbye
        result.check()
    db = make_engine(host_url)
    try:
        with make_session_factory(db)() as session:
            rows = session.scalars(select(MeterReadingRecord).order_by(MeterReadingRecord.id))
            stored = [(r.line, r.caller, r.contract, r.reading, r.call_id) for r in rows]
    finally:
        db.dispose()
    ids = [str(fallback_of(log, c.channel)["Uniqueid"]) for c in calls]
    assert stored == [
        (METER, SUBSCRIBER, "10000001", "12345", ids[0]),
        (METER, STRANGER, "20000002", "777", ids[1]),
    ]
    assert not log.find(lambda e: e.get("Event") == "QueueCallerJoin")


async def test_database_down_or_hanging_every_caller_still_reaches_the_queue(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    assert engine_is_down(settings), "something answers FastAGI: the engine is not down"
    await hang_up_everything(sandbox)
    with socket.socket() as hanging:  # accepts connections, never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(16)
        port = hanging.getsockname()[1]
        with scripts_on(sandbox, f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"):
            async with callers(
                tester, tmp_path,
                (SERVICE, SUBSCRIBER, []), (CONNECTIONS, STRANGER, []),
                (METER, SUBSCRIBER, ["12345#"]),
            ) as (calls, log):  # fmt: skip
                waited = [await joined(log, c.channel, timeout=30) for c in calls]
                waiting = await queue_entries(tester)
                await hang_up_everything(sandbox)
    subscriber, prospect, meter = (c.channel for c in calls)
    # no directory: the subscriber is not known (plain fallback); the line still decides
    assert {c: waiting[c]["Priority"] for c in waiting} == {
        subscriber: "0",
        prospect: "10",
        meter: "0",
    }
    assert [waiting[c]["IVR_CLASS"] for c in (subscriber, prospect, meter)] == [
        "unknown",
        "new_connection",
        "",  # the meter script ran instead of a class: it failed, so the plain queue
    ]
    assert waiting[subscriber]["IVR_FALLBACK_LOOKUP"] == "no-database"
    for caller, at in zip(calls, waited, strict=True):
        print(f"{caller.channel}: in the queue {at - caller.started:.1f} s after the INVITE")
    runs = script_runs(log, "fallback_route.py")
    took = [end - start for start, end in runs.values()]
    print(f"fallback_route.py with the database hanging: {', '.join(f'{t:.2f}' for t in took)} s")
    assert len(took) == 3 and max(took) < 3.5  # the connect timeout, within the 3 s deadline


async def test_a_burst_runs_a_few_scripts_at_once_and_queues_everyone(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, pg_database: str
) -> None:
    burst = 16
    assert engine_is_down(settings), "something answers FastAGI: the engine is not down"
    await hang_up_everything(sandbox)
    log = AmiLog()
    tester.on_event("*", log)
    script = scenario("caller", tmp_path / "burst", hold=60.0, caller_id=STRANGER)
    try:
        with scripts_on(sandbox, pg_database), Sipp(
            script, target=ASTERISK_SIP, service=CONNECTIONS, local_ip=CARRIER_IP,
            local_port=5090, media_port=16200, calls=burst, rate=burst, timeout=70.0,
        ):  # fmt: skip
            start = asyncio.get_running_loop().time()
            await log.wait_for(
                lambda _: len(log.find(event("QueueCallerJoin", Queue=FALLBACK_QUEUE))) >= burst,
                timeout=60,
            )
            waiting = await queue_entries(tester)
            await hang_up_everything(sandbox)
    finally:
        tester.off_event("*", log)
    runs = script_runs(log, "fallback_route.py")
    joins = [at - start for at, _ in log.find(event("QueueCallerJoin", Queue=FALLBACK_QUEUE))]
    prospects = sum(1 for e in waiting.values() if e["Priority"] == "10")
    print(
        f"burst of {burst}: {len(runs)} ran fallback_route.py, at most {most_at_once(runs)} at "
        f"once; {prospects} queued with priority 10, the rest 0; last in the queue "
        f"{max(joins):.1f} s after the first INVITE"
    )
    assert len(waiting) == burst  # nobody dropped
    assert most_at_once(runs) <= AsteriskSettings().fallback_scripts  # IVR_FALLBACK_SCRIPTS
    assert prospects == len(runs) and {e["Priority"] for e in waiting.values()} <= {"0", "10"}
    assert len(runs) > AsteriskSettings().fallback_scripts  # others waited for a free one

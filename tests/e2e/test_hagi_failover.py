"""Menus active/active: two engines (subprocesses, each on its own SQLite) behind
`hagi://engines.ivr.sandbox`, whose SRV records the sandbox's dnsmasq serves. Asterisk
spreads calls over both; an engine killed with kill -9 loses no call and sends none to the
fallback path: new calls reach the live engine, calls it held mid-menu get their one more
try (dialplans/ivr.conf) on the live engine."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from ivr.config import Settings
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.chroot import Sandbox
from ivr.sandbox.dns import SANDBOX_AGI_NAME
from ivr.storage.models import CallRecord
from ivr.telephony import names
from ivr.telephony.ami import AmiClient
from ivr.telephony.fallback_trace import FAMILY
from tests.e2e.conftest import clear_fallback_trace, engine_settings
from tests.e2e.engine_subprocess import EngineSubprocess, start_engine
from tests.e2e.sip_menu import CHANNEL as SIP
from tests.e2e.sip_menu import sip_callers_through_the_menu
from tests.unit.engine_process import free_port

LINE = "5552000"  # "1" routes to connections
DTMF = ["1", "1"]  # the second "1" answers the menu's retry on the live engine
STAGGER = 0.1  # seconds between two callers of a burst


@dataclass
class Pair:
    a: EngineSubprocess
    b: EngineSubprocess
    url_a: str
    url_b: str


def journal(url: str) -> dict[str, tuple[str | None, bool, object]]:
    db = create_engine(url)
    try:
        with db.connect() as conn:
            rows = conn.execute(
                select(
                    CallRecord.call_id, CallRecord.queue, CallRecord.fell_back, CallRecord.routed_at
                )
            ).all()
    finally:
        db.dispose()
    return {r.call_id: (r.queue, r.fell_back, r.routed_at) for r in rows}


async def journalled(urls: list[str], call_ids: set[str], timeout: float = 15.0) -> list[dict]:  # type: ignore[type-arg]
    """The journals of `urls` once together they hold every one of `call_ids` as routed."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [journal(url) for url in urls]
        if call_ids <= set().union(*map(routed, rows)) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def routed(rows: dict[str, tuple[str | None, bool, object]]) -> set[str]:
    """The calls this engine's menu routed."""
    return {call for call, (_, _, routed_at) in rows.items() if routed_at is not None}


class UserEvents:
    """The dialplan's IvrRoute / IvrFallback / IvrMenuRetry events, as the tester sees them."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}

    def __call__(self, event: object) -> None:
        name = str(event.get("UserEvent", ""))  # type: ignore[attr-defined]
        call = str(event.get("CallID", "") or event.get("Uniqueid", ""))  # type: ignore[attr-defined]
        self.seen.setdefault(name, []).append(call)

    def of(self, name: str) -> list[str]:
        return self.seen.get(name, [])


@pytest.fixture
async def pair(sandbox: Sandbox, settings: Settings, tmp_path: Path) -> AsyncIterator[Pair]:
    ports = (free_port(), free_port())
    for name in "ab":
        (tmp_path / name).mkdir()
    configs = [
        engine_settings(settings, tmp_path / name, agi_port=port)
        for name, port in zip("ab", ports, strict=True)
    ]
    clear_fallback_trace(settings)
    engines: list[EngineSubprocess] = []
    try:
        await asyncio.to_thread(sandbox.serve_agi_srv, SANDBOX_AGI_NAME, ports)
        sandbox.cli(f"dialplan set global IVR_AGI hagi://{SANDBOX_AGI_NAME}")
        for name, config in zip("ab", configs, strict=True):
            log = tmp_path / name / "engine.log"
            engines.append(await asyncio.to_thread(start_engine, config, log))
        yield Pair(engines[0], engines[1], configs[0].database_url, configs[1].database_url)
    finally:
        sandbox.cli(f"dialplan set global IVR_AGI {sandbox.settings.agi_url}")
        await asyncio.to_thread(sandbox.serve_agi_srv)
        for engine in engines:
            engine.stop()


async def burst(tester: AmiClient, calls: int, prefix: str) -> list[asyncio.Task[CallReport]]:
    tasks = []
    for n in range(calls):
        caller = f"+38044{prefix}{n:05d}"
        tasks.append(asyncio.create_task(place_call(tester, LINE, caller, DTMF, timeout=60)))
        await asyncio.sleep(STAGGER)
    return tasks


def served_by_an_engine(reports: list[CallReport]) -> None:
    lost = [r.summary() for r in reports if not (r.ok and r.via == "engine")]
    assert not lost, "\n\n".join(lost)


async def test_hagi_spreads_calls_and_a_killed_engine_sends_none_to_the_fallback(
    pair: Pair, sandbox: Sandbox, tester: AmiClient
) -> None:
    events = UserEvents()
    tester.on_event("UserEvent", events)
    try:
        before = await asyncio.gather(*await burst(tester, 12, "1"))
        served_by_an_engine(before)
        ids = {r.call_id for r in before}
        routed_a, routed_b = map(routed, await journalled([pair.url_a, pair.url_b], ids))
        # Both engines journal every call's queue events (one AMI); only the one whose menu
        # served a call has its routed_at. Both served (2 × 0.5^12 that one got all 12).
        assert routed_a and routed_b, (len(routed_a), len(routed_b))

        await asyncio.to_thread(pair.a.kill)
        after = await asyncio.gather(*await burst(tester, 12, "2"))
    finally:
        tester.off_event("UserEvent", events)
    served_by_an_engine(after)
    (journal_b,) = await journalled([pair.url_b], {r.call_id for r in after})
    assert {r.call_id for r in after} <= set(journal_b)
    assert not events.of(names.EVENT_FALLBACK)
    assert not events.of(names.EVENT_MENU_RETRY)  # nothing was mid-menu at the kill
    trace = await asyncio.to_thread(sandbox.cli, f"database show {FAMILY}")
    assert "0 results found" in trace, trace
    print(
        f"\nbefore the kill: engine A served {len(routed_a)}, B {len(routed_b)} of 12;"
        f" after it B served {len(after)} of 12, 0 fallbacks"
    )


async def test_kill_9_mid_burst_loses_no_call_and_none_falls_back(
    pair: Pair, sandbox: Sandbox, tester: AmiClient
) -> None:
    calls, kill_after_routes = 40, 10
    events = UserEvents()
    tester.on_event("UserEvent", events)
    began = time.monotonic()
    try:
        placing = asyncio.create_task(burst(tester, calls, "3"))
        deadline = time.monotonic() + 60
        while len(events.of(names.EVENT_ROUTE)) < kill_after_routes:
            assert time.monotonic() < deadline, "the burst stalled"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(pair.a.kill)
        killed_at = time.monotonic() - began
        reports = await asyncio.gather(*await placing)
        seconds = time.monotonic() - began
    finally:
        tester.off_event("UserEvent", events)

    served_by_an_engine(reports)
    assert len(reports) == calls
    assert not events.of(names.EVENT_FALLBACK), events.of(names.EVENT_FALLBACK)
    trace = await asyncio.to_thread(sandbox.cli, f"database show {FAMILY}")
    assert "0 results found" in trace, trace
    retried = set(events.of(names.EVENT_MENU_RETRY))
    assert retried, "no call was mid-menu on engine A at the kill"
    (journal_b,) = await journalled([pair.url_b], retried)
    for call_id in retried:  # the live engine routed every call it took over
        queue, fell_back, routed_at = journal_b[call_id]
        assert queue == "connections" and not fell_back and routed_at is not None
    assert set(events.of(names.EVENT_ROUTE)) == {r.call_id for r in reports}
    # A's journal may miss what sat in its outbox at the kill (replayed when it restarts)
    by_a, by_b = routed(journal(pair.url_a)), routed(journal_b)
    print(
        f"\n{calls} calls in {seconds:.1f} s, kill -9 of engine A at {killed_at:.1f} s;"
        f" queued: {sum(1 for r in reports if r.queued_in)}, fallbacks: 0;"
        f" calls mid-menu on A retried on B: {len(retried)}; routed by A: {len(by_a)},"
        f" by B: {len(by_b)} (by both: {len(by_a & by_b)})"
    )


async def test_kill_9_mid_menu_over_sip_sends_no_caller_to_the_fallback(
    pair: Pair, sandbox: Sandbox, tester: AmiClient, tmp_path: Path
) -> None:
    """SIPp carrier callers keying RFC 4733 DTMF; engine A killed once the first of them is
    routed: the others, mid-menu on A, take the menu again on B and are queued."""
    callers = 16
    events = UserEvents()
    killed = asyncio.Event()

    def on_route(event: object) -> None:
        events(event)
        channel = str(event.get("Channel", ""))  # type: ignore[attr-defined]
        routed_sip = event.get("UserEvent") == names.EVENT_ROUTE and channel.startswith(SIP)  # type: ignore[attr-defined]
        if routed_sip and not killed.is_set():
            killed.set()
            pair.a.kill()  # at once, in the event callback: the others are mid-menu

    tester.on_event("UserEvent", on_route)
    try:
        sip = await sip_callers_through_the_menu(
            sandbox, tester, tmp_path / "sipp", callers, DTMF, line=LINE
        )
    finally:
        tester.off_event("UserEvent", on_route)

    assert killed.is_set(), f"no IvrRoute of a SIP caller seen: {events.seen}"
    assert len(sip.joined) == callers, sip.joined
    assert len(sip.routes) == callers, sorted(sip.routes)  # each routed by an engine
    assert {r["Queue"] for r in sip.routes.values()} == {"connections"}
    assert not events.of(names.EVENT_FALLBACK), events.of(names.EVENT_FALLBACK)
    retried = events.of(names.EVENT_MENU_RETRY)
    assert retried, "no SIP caller was mid-menu on engine A at the kill"
    print(
        f"\n{callers} SIP callers, engine A killed at the first route: all queued by an"
        f" engine, {len(retried)} retried on B, 0 fallbacks"
    )

"""The engine on PostgreSQL behind a proxy the test controls, with callers on the real
Asterisk: a database that is silent (frozen) or down (refused) never holds a caller. Each
caller goes through the real menu (identify fails: he presses his contract, which cannot be
checked either; no outage known) and reaches a queue; an API change gets a quick 503;
/health says the database is unavailable. While it is frozen, carrier callers over real SIP
(SIPp, RFC 4733 keys) go through the same menu alongside. Once the database is back,
callers are identified again and /health says ok."""

import asyncio
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from ivr.config import Settings
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.web.tokens import Principal, token_entry
from tests.e2e.conftest import flows_copy, started
from tests.e2e.sip_menu import SipMenuCalls, sip_callers_through_the_menu
from tests.faults import TcpProxy
from tests.storage.conftest import PG_URL

pytestmark = pytest.mark.postgres

KYIV_SUBSCRIBER = "+380441234567"  # contract 10000001 in data/demo-store.yaml, city Kyiv
KNOWN = ["2", "1"]  # support; identified by his number, no outage: service menu 1 (internet)
UNKNOWN = ["2", "10000001", "1"]  # not identified: he keys his contract, then internet
CALLS = 20  # callers at once, per fault
SIP_CALLERS = 5  # carrier callers (SIPp) at once while the database is frozen
SIP_KEYS = ["2", "10000001", "1"]  # the same keys, as RFC 4733 groups
TOKEN = "supervisor-token-db-faults"
PORT = 18083


async def burst(tester: AmiClient, dtmf: list[str]) -> list[CallReport]:
    calls = [place_call(tester, "5551000", KYIV_SUBSCRIBER, dtmf, timeout=60) for _ in range(CALLS)]
    return list(await asyncio.gather(*calls))


def figures(name: str, reports: list[CallReport]) -> str:
    seconds = [r.seconds for r in reports]
    queued = sum(1 for r in reports if r.queued_in == "internet")
    return (
        f"{name}: {queued}/{len(reports)} queued, seconds per call median "
        f"{statistics.median(seconds):.1f} max {max(seconds):.1f}"
    )


def sip_figures(sip: SipMenuCalls) -> str:
    seconds = sorted(sip.joined.values())
    paths = sorted({str(r.get("Path")) for r in sip.routes.values()})
    return (
        f"database frozen: {len(sip.routes)}/{SIP_CALLERS} SIP callers routed, key groups "
        f"asked {sorted(sip.asked.values())}, joined a queue over "
        f"{seconds[-1] - seconds[0] if seconds else 0:.1f} s; paths {paths}"
    )


def check_sip(sip: SipMenuCalls) -> None:
    assert sip.result is not None
    sip.result.check(SIP_CALLERS)
    assert len(sip.routes) == SIP_CALLERS, sip.routes
    for route in sip.routes.values():
        assert route["Queue"] == "internet", route
        assert "identify:not_found" in str(route.get("Path")), route
    assert all(n >= len(SIP_KEYS) for n in sip.asked.values()), sip.asked
    assert all("Success" in str(r) for r in sip.replies), sip.replies


async def api_end(http: aiohttp.ClientSession, base: str, outage: int) -> tuple[int, float]:
    started_at = time.monotonic()
    async with http.post(
        f"{base}/api/outages/{outage}/end", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        await response.read()
        return response.status, time.monotonic() - started_at


async def health(http: aiohttp.ClientSession, base: str) -> Any:
    async with http.get(f"{base}/health") as response:
        return (await response.json())["database"]


async def test_a_frozen_or_refused_database_never_holds_a_caller(
    sandbox: Sandbox,
    settings: Settings,
    tester: AmiClient,
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = make_url(PG_URL)
    with TcpProxy(upstream.port or 5432, upstream.host or "127.0.0.1") as proxy:
        url = upstream.set(port=proxy.port, query={"options": f"-csearch_path={pg_schema}"})
        custom = replace(
            settings,
            database_url=url.render_as_string(hide_password=False),
            flows_dir=str(flows_copy(tmp_path)),
            flows_poll_interval=0.2,
            api_tokens=token_entry(Principal("supervisor"), TOKEN),
            http_port=PORT,
            db_api_timeout=3.0,
            db_probe_interval=1.0,
            var_dir=str(tmp_path / "var"),
        )
        engine = await started(custom)
        base = f"http://127.0.0.1:{PORT}"
        lines = []
        try:
            async with aiohttp.ClientSession() as http:
                outage = engine.directory.post_outage("Odesa", "", "Test outage").id
                before = await burst(tester, KNOWN)
                lines.append(figures("database up", before))
                assert all("identify:found" in r.path for r in before), before[0].summary()
                assert (await health(http, base))["database"] == "ok"

                for name, fault in (("frozen", proxy.freeze), ("refused", proxy.refuse)):
                    fault()
                    if name == "frozen":  # SIP callers too, keying over RFC 4733
                        reports, sip = await asyncio.gather(
                            burst(tester, UNKNOWN),
                            sip_callers_through_the_menu(
                                sandbox, tester, tmp_path / "sipp", SIP_CALLERS, SIP_KEYS
                            ),
                        )
                        lines.append(sip_figures(sip))
                        check_sip(sip)
                    else:
                        reports = await burst(tester, UNKNOWN)
                    lines.append(figures(f"database {name}", reports))
                    for report in reports:
                        assert report.queued_in == "internet", report.summary()
                        assert report.via == "engine", report.summary()
                        assert "identify:not_found" in report.path, report.summary()
                    writes = await asyncio.gather(*(api_end(http, base, outage) for _ in range(5)))
                    lines.append(
                        f"database {name}: API writes "
                        + ", ".join(f"{status} in {s:.2f} s" for status, s in writes)
                    )
                    assert all(status == 503 for status, _ in writes), writes
                    assert all(s < 3.5 for _, s in writes), writes
                    state = await health(http, base)
                    lines.append(f"database {name}: /health {state}")
                    assert state["database"] == "unavailable"

                proxy.forward()
                deadline = time.monotonic() + 10
                while (await health(http, base))["database"] != "ok":
                    assert time.monotonic() < deadline, "/health never said ok again"
                    await asyncio.sleep(0.2)
                after = await burst(tester, KNOWN)
                lines.append(figures("database back", after))
                assert all("identify:found" in r.path for r in after), after[0].summary()
                assert all(r.queued_in == "internet" for r in after)
                status, _ = await api_end(http, base, outage)
                assert status == 200
        finally:
            await engine.stop()
    with capsys.disabled():
        print("\n" + "\n".join(lines))

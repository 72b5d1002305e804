"""`make demo`: the engine on the sandbox Asterisk, scripted calls through the shipped flows,
a summary of what callers got and what the engine stored. Some calls come over the SIP trunk
(SIPp as the carrier, keys as RFC 4733 digits) and agent 1001 answers on a real SIP phone
(baresip); SIPp's and baresip's logs go to var/demo-sip/."""

import contextlib
import re
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ivr.app import Engine
from ivr.config import PROJECT_ROOT, Settings
from ivr.demo.dashboard import fetch_json, print_reports, show_dashboard
from ivr.demo.queues import AGENTS, SIP_AGENT, demo_queues, print_queue_summary, run_queue_calls
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.calls.sip.carrier import SipToolMissing, require
from ivr.sandbox.calls.sip_agent import SipAgent
from ivr.sandbox.calls.sip_call import place_sip_call
from ivr.sandbox.calls.tester import tester_ami
from ivr.storage.db import make_session_factory, open_store
from ivr.storage.reports import CallbackView, MeterReadingView, ReportRepository
from ivr.storage.seed import DEMO_STORE, load_seed_file, seed_store
from ivr.telephony.ami import AmiClient
from ivr.web.tokens import Principal, mint_token, token_entry

KYIV, LVIV, STRANGER = "+380441234567", "+380322000111", "+380501112233"
SIP_LOGS = PROJECT_ROOT / "var" / "demo-sip"  # SIPp's and baresip's files
PHONE_PORT = 25210  # agent 1001's phone (baresip binds the next port too)
DAY = (
    # (description, line, caller, keys: one token per request for keys, as ivr.flow.dtmf
    # reads, over the SIP trunk)
    ("new connection (connections line)", "5552000", STRANGER, ["1"], True),
    ("subscriber known by number: internet", "5551000", KYIV, ["2", "1"], False),
    ("outage in Lviv announced, caller waits: TV", "5553000", LVIV, ["2", "1", "2"], False),
    (
        "stranger gives his contract: extra services",
        "5551000",
        STRANGER,
        ["2", "10000001", "3"],
        False,
    ),
    ("meter reading (self-service)", "5551000", KYIV, ["3", "12345#"], True),
    (
        "reports 5553000 unreachable (self-service)",
        "5551000",
        STRANGER,
        ["4", "5553000#", "2", "1", "1"],
        False,
    ),
    ("organisation: appeal to an operator", "5554000", STRANGER, ["5"], False),
    ("Russian-speaking line: TV", "5555000", STRANGER, ["2", "-", "-", "2"], False),
)
NIGHT = ("after hours: callback request", "5551000", KYIV, ["2"])


def _table(rows: list[tuple[str, CallReport]]) -> str:
    head = f"{'call':<46} {'as':<5} {'via':<7} {'queue':<12} {'prio':>4}  outcome / menu path"
    lines = [head, "-" * len(head)]
    for title, r in rows:
        end = r.queued_in or ("self-service" if r.self_served else "-")
        kind = "SIP" if r.over_sip else "local"
        lines.append(
            f"{title:<46} {kind:<5} {r.via or '-':<7} {end:<12} {r.priority or '-':>4}  {r.outcome}"
        )
        lines.append(f"{'':<46} {'':<5} {'':<7} {'':<12} {'':>4}  {r.path or '-'}")
    return "\n".join(lines)


def _set_operator_hours(flows: Path, hours: str) -> None:
    calendar = flows / "calendar.yaml"
    text = re.sub(r"(?m)^  operators: .*$", f"  operators: {hours}", calendar.read_text())
    calendar.write_text(text, encoding="utf-8")


async def _call(
    ami: AmiClient, title: str, line: str, caller: str, keys: list[str], sip: bool = False
) -> CallReport:
    over = " over SIP" if sip else ""
    print(f"calling {line} from {caller}{over}, keys {' '.join(keys) or '-'}: {title}")
    if sip:
        return await place_sip_call(ami, line, caller, keys, SIP_LOGS / line, timeout=120)
    return await place_call(ami, line, caller, keys, timeout=120)


@dataclass
class _Tour:
    """What the tour's steps share: the demo's own settings, files and callers' reports."""

    settings: Settings
    var: Path
    db: Path
    flows: Path
    token: str  # the demo supervisor's API token, for this run only
    results: list[tuple[str, CallReport]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.settings.http_host}:{self.settings.http_port}"

    @property
    def api(self) -> str:
        return f"{self.base}/api/calls?limit=20"


@dataclass(frozen=True)
class _Stored:
    """What the engine stored, read before it stops."""

    journal: Any
    readings: list[MeterReadingView]
    unreachable: list[tuple[str, int]]
    callbacks: list[CallbackView]


async def run_demo(settings: Settings) -> int:
    try:
        require("sipp", "sip-tester")
        require("baresip", "baresip-core")
    except SipToolMissing as exc:
        print(f"ivr demo: {exc}", file=sys.stderr)
        return 2
    tour = _start(settings)
    ami = tester_ami(tour.settings)
    await ami.connect()
    agent = _sip_agent(tour.settings)
    engine = Engine(tour.settings)
    await engine.start()
    await engine.ami.wait_connected(10)
    await engine.queue_actions.reload()  # the demo's queues.conf (scaled times)
    phone = contextlib.AsyncExitStack()
    try:
        queue_results = await _calls(tour, engine, ami, agent, phone)
        stored = await _stored(tour, engine)
        print_queue_summary(engine, stored.journal["calls"], queue_results)
        print(f"\n{agent.summary()}")
        await engine.live.refresh()  # today's figures now, not at the next 2 s tick
        await show_dashboard(tour.base, tour.var)
    finally:
        for agent_id in engine.queues.agents:
            await engine.agents.logout(agent_id)
        await engine.stop()
        await phone.aclose()
    await _engine_down_call(tour, ami)
    await ami.close()
    _summary(tour, stored)
    print(f"\n{agent.summary()}")
    ok = all(r.ok for _, r in tour.results)
    print("\ndemo", "passed: every caller was served" if ok else "FAILED: a caller was lost")
    return 0 if ok else 1


def _start(settings: Settings) -> _Tour:
    """Fresh demo files under var/: a copy of flows/, a seeded SQLite store, the settings."""
    var = PROJECT_ROOT / "var"
    db, flows = var / "demo.db", var / "demo-flows"
    var.mkdir(exist_ok=True)
    db.unlink(missing_ok=True)
    shutil.rmtree(flows, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    shutil.rmtree(SIP_LOGS, ignore_errors=True)
    # The demo runs at any hour: operators work around the clock until the supervisor
    # changes the calendar (hot reload) for the after-hours call.
    _set_operator_hours(flows, '{daily: "00:00-24:00", holidays: open}')
    url = f"sqlite:///{db}"
    with open_store(url) as sessions:
        seed_store(sessions, load_seed_file(DEMO_STORE))
    token = mint_token()
    settings = replace(
        settings,
        database_url=url,
        flows_dir=str(flows),
        flows_poll_interval=0.2,
        queues_file=str(demo_queues(PROJECT_ROOT / "queues.yaml", var / "demo-queues.yaml")),
        asterisk_config_dir=str(Path(settings.sandbox_dir) / "root" / "etc" / "asterisk"),
        api_tokens=token_entry(Principal("supervisor"), token),
    )
    return _Tour(settings, var, db, flows, token)


def _sip_agent(settings: Settings) -> SipAgent:
    answer, talk = AGENTS[SIP_AGENT]
    return SipAgent(
        SIP_AGENT, SIP_LOGS / f"phone-{SIP_AGENT}", Path(settings.sandbox_dir),
        answer_after=float(answer), talk=float(talk), sip_port=PHONE_PORT,
    )  # fmt: skip


async def _calls(
    tour: _Tour,
    engine: Engine,
    ami: AmiClient,
    agent: SipAgent,
    phone: contextlib.AsyncExitStack,
) -> list[tuple[str, CallReport]]:
    """The day's calls, the queued ones (agent 1001 on his SIP phone), then the calendar
    edit and the after-hours call; returns the queued calls' reports."""
    for title, line, caller, keys, sip in DAY:
        tour.results.append((title, await _call(ami, title, line, caller, keys, sip)))
    await phone.enter_async_context(agent)
    print(f"agent {SIP_AGENT}'s SIP phone (baresip) registered as PJSIP/{SIP_AGENT}")
    queue_results = await run_queue_calls(engine, ami, SIP_LOGS)
    tour.results += queue_results
    print("supervisor edits calendar.yaml: no operator hours (the engine reloads it)")
    _set_operator_hours(tour.flows, '{sun: "00:00-00:01"}')
    reloaded = await engine.flow_reloader.reload()  # what the watcher does within 0.2 s
    print(f"flows reloaded: {'ok' if reloaded.ok else reloaded.problems}")
    _print_flow_history(engine)
    tour.results.append((NIGHT[0], await _call(ami, *NIGHT)))
    return queue_results


def _print_flow_history(engine: Engine) -> None:
    """The versions flows/ went through, newest first, as `ivr flow history` lists them."""
    versions = engine.flow_history.recent(limit=3)
    for version in versions:
        changed = ", ".join(version.changed) or "-"
        print(f"  flow version {version.id}: {version.who} ({changed})")
    if len(versions) > 1:
        print(f"  `ivr flow rollback {versions[1].id}` would put version {versions[1].id} back")


async def _stored(tour: _Tour, engine: Engine) -> _Stored:
    await engine.journal.flush()
    await engine.reports.flush()
    await engine.agent_log.flush()
    journal = await fetch_json(tour.api, tour.token)
    reports = ReportRepository(make_session_factory(engine.db))
    readings, unreachable = reports.meter_readings(), reports.unreachable_by_line()
    return _Stored(journal, readings, unreachable, reports.callbacks())


async def _engine_down_call(tour: _Tour, ami: AmiClient) -> None:
    print("engine stopped: the next call must take the dialplan's fallback path")
    title = "engine down: fallback"
    tour.results.append((title, await _call(ami, title, "5551000", STRANGER, ["1"])))


def _summary(tour: _Tour, stored: _Stored) -> None:
    print()
    print(_table(tour.results))
    print(f"\ncall journal ({tour.api}): {len(stored.journal['calls'])} calls in {tour.db}")
    for row in stored.journal["calls"]:
        print(
            f"  {row['call_id']:<24} line {row['line'] or '-':<8} {row['outcome'] or '-':<13} "
            f"queue {row['queue'] or '-'}"
        )
    print("\nmeter readings:", [(m.contract, m.reading) for m in stored.readings])
    print("unreachable reports per line:", stored.unreachable)
    print(
        "callbacks:",
        [
            (
                c.phone,
                c.queue,
                f"{c.promised_by:%Y-%m-%d %H:%M} UTC" if c.promised_by else "-",
                f"{c.status} after {c.attempts} attempt(s): {c.outcome or '-'}",
            )
            for c in stored.callbacks
        ],
    )
    print_reports(tour.settings, tour.var)

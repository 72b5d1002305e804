"""Several engines on one PostgreSQL and one Asterisk: one owns the live actions, the others
stand by. Killed (kill -9) or cut off from the database, the owner is replaced within the
lease time; every waiting caller's ladder goes on with each step exactly once, the steps
that fell due meanwhile run late, said so. Over SIP (SIPp callers keying RFC 4733 through
the menu), on the real Asterisk; the times are scaled down, the lease is the real one
(3 s, renewed every second). Figures are printed (pytest -s)."""

import asyncio
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.app import Engine
from ivr.config import PROJECT_ROOT, Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import engine_settings, eventually, journal_row, pg_url, started
from tests.e2e.engine_subprocess import EngineSubprocess, engine_env, start_engine
from tests.e2e.queues_kit import AmiLog, agent, fast_queues, queue_engine, queue_flows
from tests.e2e.sip_menu import sip_callers_in_queue
from tests.faults import TcpProxy
from tests.unit.engine_process import free_port

pytestmark = pytest.mark.postgres

CALLERS = 50  # waiting over SIP when the owner is killed (the figure)
STEPS = (3.0, 5.0, 7.0, 9.0)  # s after the join: raise_priority by 1 each
LADDER = [{"after": after, "raise_priority": 1} for after in STEPS]
TAKEOVER = 5.0  # s: the bound on a takeover, and on a step's lateness
_DETAIL = re.compile(r"priority (-?\d+) -> (-?\d+)")


@dataclass(frozen=True)
class Step:
    """An IvrEscalation announcement (from whichever engine ran the step)."""

    call_id: str
    new_priority: int
    wait: float
    late: float
    seen: float  # tester's loop time


def ladder_queues(tmp_path: Path) -> Path:
    """queues.yaml: first_line with the four-step LADDER and nobody to answer it."""
    return fast_queues(
        tmp_path, agents={"2001": agent("2001", "senior")}, answer_target=2, escalation=LADDER
    )


def steps_announced(log: AmiLog) -> list[Step]:
    out = []
    for seen, e in log.find(lambda e: e.get("UserEvent") == "IvrEscalation"):
        found = _DETAIL.fullmatch(str(e.get("Detail", "")))
        if found and e.get("Outcome") == "done":
            out.append(
                Step(str(e["CallID"]), int(found[2]), float(e["Wait"]), float(e["Late"]), seen)
            )
    return out


async def priorities(tester: AmiClient, queue: str) -> dict[str, int]:
    """What app_queue holds now: each waiting caller's priority, by call id."""
    reply = await tester.send({"Action": "QueueStatus", "Queue": queue}, timeout=10)
    messages = reply if isinstance(reply, list) else [reply]
    return {
        str(m["Uniqueid"]): int(m["Priority"])
        for m in messages
        if m.get("Event") == "QueueEntry" and m.get("Queue") == queue
    }


def subprocess_engine(
    base: Settings, tmp_path: Path, name: str, database_url: str, queues: Path
) -> EngineSubprocess:
    """An `ivr serve` on the queue-test flows and `queues`, on its own FastAGI port (menus
    go to the sandbox's engine), as engine `name`."""
    work = tmp_path / name
    work.mkdir()
    config = engine_settings(
        base,
        work,
        database_url=database_url,
        flows_dir=str(queue_flows(work)),
        queues_file=str(queues),
        engine_id=name,
        agi_port=free_port(),
    )
    return start_engine(config, work / "engine.log")


def check_ladders(
    routes: Mapping[str, int], steps: list[Step], final: Mapping[str, int], lines: list[str]
) -> None:
    """Every caller: each step announced once, within its time + TAKEOVER, and app_queue's
    priority raised exactly once per step (a step run twice would raise it twice)."""
    by_call: dict[str, list[Step]] = {}
    for step in steps:
        by_call.setdefault(step.call_id, []).append(step)
    late = [s.late for s in steps if s.late > 0]
    lines.append(
        f"{len(steps)} steps for {len(routes)} callers, {len(late)} late "
        f"(max {max(late, default=0):.1f} s)"
    )
    for call_id, base in routes.items():
        mine = sorted(by_call.get(call_id, []), key=lambda s: s.new_priority)
        assert [s.new_priority for s in mine] == [base + n + 1 for n in range(len(STEPS))], (
            call_id,
            mine,
        )
        for step, after in zip(mine, STEPS, strict=True):
            assert step.wait <= after + TAKEOVER, (call_id, step)
        assert final[call_id] == base + len(STEPS), (call_id, final[call_id], base)


def check_queue_log(sandbox: Sandbox, routes: Mapping[str, int], lines: list[str]) -> None:
    """queue_log: every caller's menu path once (the owner read his route), and no step
    twice, whichever engine ran it (a line lost to the kill -9 is allowed: best effort)."""
    path = sandbox.root / "var" / "log" / "asterisk" / "queue_log"
    ours = [
        fields
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if (fields := line.split("|"))[1:2] and fields[1] in routes
        and fields[4] in ("IVRPATH", "ESCALATE")
    ]  # fmt: skip
    keys = [(f[1], f[4], f[6] if f[4] == "ESCALATE" else "") for f in ours]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert {k[0] for k in keys if k[1] == "IVRPATH"} == set(routes)
    steps = sum(1 for k in keys if k[1] == "ESCALATE")
    lines.append(
        f"queue_log: {len(routes)} menu paths, {steps} of {len(routes) * len(STEPS)} steps"
    )


async def test_kill_9_the_owner_while_50_sip_callers_wait_on_a_ladder(
    sandbox: Sandbox,
    settings: Settings,
    tester: AmiClient,
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queues = ladder_queues(tmp_path)
    database = pg_url(pg_schema)
    owner = await asyncio.to_thread(
        subprocess_engine, settings, tmp_path, "engine-a", database, queues
    )
    lines: list[str] = []
    try:
        assert owner.health()["owner"] is True
        async with queue_engine(
            sandbox, settings, tmp_path, queues, database_url=database, engine_id="engine-b"
        ) as standby:  # serves the menus (the sandbox's FastAGI port), stands by
            assert not standby.acting() and standby.ownership.holder == "engine-a"
            log = AmiLog()
            tester.on_event("*", log)
            async with sip_callers_in_queue(
                sandbox, tester, tmp_path / "sipp", CALLERS, ["1"], hold=60.0
            ) as calls:
                routes = {
                    str(r["Uniqueid"]): int(r["QueuePriority"]) for r in calls.routes.values()
                }
                assert len(routes) == CALLERS
                await asyncio.sleep(1.0)  # the owner runs the first steps
                killed = time.monotonic()
                owner.kill()
                await eventually(standby.acting, timeout=15)
                takeover = time.monotonic() - killed
                lines.append(f"takeover {takeover:.2f} s after kill -9 of the owner")
                assert takeover < TAKEOVER
                last_join = max(calls.joined.values())
                await asyncio.sleep(max(0.0, last_join + STEPS[-1] + TAKEOVER - time.time()))
                final = await priorities(tester, "first_line")
            tester.off_event("*", log)
            check_ladders(routes, steps_announced(log), final, lines)
            check_queue_log(sandbox, routes, lines)
            row = await standby_journal(standby, routes)
            lines.append(f"journal of a caller: {row}")
    finally:
        owner.stop()
        with capsys.disabled():
            print("\n" + "\n".join(lines))


async def standby_journal(engine: Engine, routes: Mapping[str, int]) -> str:
    """Every caller's row (the menu journalled by the engine that ran it, the queueing by
    the owner of the time: another engine); a late step as listed ("raise_priority late
    2.1s"), if any."""
    late = "no late step journalled"
    for call_id in routes:
        record = await journal_row(engine, call_id, ended=False)
        assert record is not None and record.queue == "first_line", record
        assert record.queued_at is not None and record.menu_path, record
        if record.escalations and "late" in record.escalations:
            late = str(record.escalations)
    return late


async def test_a_talk_timer_goes_on_through_a_takeover_each_mark_once(
    sandbox: Sandbox,
    settings: Settings,
    tester: AmiClient,
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An answered call's talk marks: the owner is killed half a second into the talk; the
    warning (2 s) falls due during the takeover and beeps the agent late, once; the
    guideline (6 s) beeps on time, once (ChanSpy on the agent's channel each time)."""
    queues = fast_queues(
        tmp_path, agents={"2001": agent("2001", "first_line")}, talk_warning=2, talk_guideline=6
    )
    database = pg_url(pg_schema)
    owner = await asyncio.to_thread(
        subprocess_engine, settings, tmp_path, "engine-a", database, queues
    )
    lines: list[str] = []
    log = AmiLog()
    tester.on_event("*", log)
    try:
        async with queue_engine(
            sandbox, settings, tmp_path, queues, database_url=database, engine_id="engine-b"
        ) as standby:
            await agent_behaves(tester, "2001", "0", "10")
            await standby.agents.login("2001")
            talk = asyncio.create_task(
                place_call(tester, "5551000", "+380440000061", ["2"], talk=15, timeout=40)
            )
            _, connect = await log.wait_for(lambda e: e.get("Event") == "AgentConnect", timeout=30)
            await asyncio.sleep(0.5)
            killed = time.monotonic()
            owner.kill()
            await eventually(standby.acting, timeout=15)
            lines.append(f"talk: takeover {time.monotonic() - killed:.2f} s after kill -9")
            report = await talk
    finally:
        owner.stop()
        tester.off_event("*", log)
        with capsys.disabled():
            print("\n" + "\n".join(lines))
    agent_channel = str(connect["DestChannel"])
    limits = [e for _, e in log.find(lambda e: e.get("UserEvent") == "IvrTalkLimit")]
    spies = [e for _, e in log.find(lambda e: e.get("Event") == "ChanSpyStart")]
    lines.append(f"talk marks: {[(e['Level'], e['Talk']) for e in limits]}")
    assert [e["CallID"] for e in limits] == [report.call_id, report.call_id]
    assert [e["Level"] for e in limits] == ["warning", "guideline"]
    assert [e["SpyeeChannel"] for e in spies] == [agent_channel, agent_channel]
    warning, guideline = (float(e["Talk"]) for e in limits)
    assert 2 <= warning <= 2 + TAKEOVER and 6 <= guideline < 6.5


async def test_an_owner_cut_off_from_the_database_stops_and_a_standby_takes_over(
    sandbox: Sandbox,
    settings: Settings,
    tester: AmiClient,
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The owner's PostgreSQL connection freezes (a network cut: nothing passes, nothing is
    closed): it stops acting within the lease time; the standby takes the lease once it
    ran out, and the ladders go on, each step once."""
    queues = ladder_queues(tmp_path)
    lines: list[str] = []
    with TcpProxy(5432) as proxy:
        async with queue_engine(
            sandbox,
            settings,
            tmp_path,
            queues,
            database_url=pg_url(pg_schema, proxy.port),
            engine_id="engine-a",
        ) as owner:
            await eventually(owner.acting, timeout=5)
            standby = await asyncio.to_thread(
                subprocess_engine, settings, tmp_path, "engine-b", pg_url(pg_schema), queues
            )
            try:
                assert standby.health()["owner"] is False
                log = AmiLog()
                tester.on_event("*", log)
                async with sip_callers_in_queue(
                    sandbox, tester, tmp_path / "sipp", 10, ["1"], hold=60.0
                ) as calls:
                    routes = {
                        str(r["Uniqueid"]): int(r["QueuePriority"]) for r in calls.routes.values()
                    }
                    await asyncio.sleep(1.0)
                    cut = time.monotonic()
                    proxy.freeze()
                    await eventually(lambda: not owner.acting(), timeout=10)
                    stopped = time.monotonic() - cut
                    await eventually(lambda: standby.health()["owner"] is True, timeout=15)
                    took = time.monotonic() - cut
                    lines.append(
                        f"database cut: the owner stopped acting after {stopped:.2f} s, "
                        f"the standby took over after {took:.2f} s"
                    )
                    assert stopped <= owner.ownership.ttl + 0.5 and took < stopped + TAKEOVER
                    last_join = max(calls.joined.values())
                    await asyncio.sleep(max(0.0, last_join + STEPS[-1] + TAKEOVER - time.time()))
                    final = await priorities(tester, "first_line")
                    proxy.forward()
                    await asyncio.sleep(2 * owner.ownership.renew)
                    assert not owner.acting()  # back on the database: the lease is taken
                tester.off_event("*", log)
                check_ladders(routes, steps_announced(log), final, lines)
            finally:
                standby.stop()
                with capsys.disabled():
                    print("\n" + "\n".join(lines))


async def test_a_second_engine_on_sqlite_is_refused(
    sandbox: Sandbox, settings: Settings, tmp_path: Path
) -> None:
    """SQLite serves one engine: `ivr serve` on the database of a running engine exits with
    a clear error (after a lease time: a restarted engine would have got the lease)."""
    first = await started(engine_settings(settings, tmp_path))
    try:
        work = tmp_path / "second"
        work.mkdir()
        second = engine_settings(
            settings, work, database_url=first.settings.database_url, agi_port=free_port()
        )
        serve = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ivr", "serve",
            env=engine_env(second, free_port()),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(serve.communicate(), 30)
        assert serve.returncode == 2, output.decode()
        assert "SQLite, which serves one engine" in output.decode()
        assert first.acting()
    finally:
        await first.stop()

"""Queues on the real Asterisk: priority, ready agents only, autopause, the answer target's
escalation, the talk guideline, callbacks and the journal. Times are scaled down."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from ivr.cli import main
from ivr.config import Settings
from ivr.events.model import CallbackRequested
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.calls.tester import agent_behaves, callee_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually, journal_row
from tests.e2e.queues_kit import (
    AGENT_TOKEN,
    OTHER_AGENT_TOKEN,
    TOKEN,
    WITH_AGENTS,
    AmiLog,
    agent,
    callback_offer_queues,
    event,
    fast_queues,
    queue_engine,
)

NEW, EXISTING = ["1"], ["2"]


def call(
    tester: AmiClient, caller: str, keys: list[str], stay: float = 30
) -> "asyncio.Task[CallReport]":
    return asyncio.create_task(
        place_call(tester, "5551000", caller, keys, talk=stay, timeout=stay + 20)
    )


async def queued(log: AmiLog, count: int, queue: str = "first_line") -> list[str]:
    """The uniqueids of the first `count` callers to join `queue`, in join order."""
    await log.wait_for(lambda e: len(log.find(event("QueueCallerJoin", Queue=queue))) >= count)
    return [str(e["Uniqueid"]) for _, e in log.find(event("QueueCallerJoin", Queue=queue))]


async def test_new_connection_is_answered_before_earlier_existing_service_callers(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")}, answer_target=60)
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "1")
        await engine.agents.login("2001", paused=True, reason="briefing")
        first = call(tester, "+380440000001", EXISTING)
        await queued(log, 1)
        second = call(tester, "+380440000002", EXISTING)
        await queued(log, 2)
        newcomer = call(tester, "+380440000003", NEW)
        order = await queued(log, 3)
        await engine.agents.ready("2001")
        await log.wait_for(lambda e: len(log.find(event("AgentConnect"))) >= 3, timeout=20)
        answered = [str(e["Uniqueid"]) for _, e in log.find(event("AgentConnect"))]
        reports = await asyncio.gather(first, second, newcomer)
    tester.off_event("*", log)
    assert [r.caller_class for r in reports] == [
        "existing_service",
        "existing_service",
        "new_connection",
    ]
    # the new connection first, then the existing callers in the order they came (FIFO)
    assert answered == [order[2], order[0], order[1]]


async def test_only_ready_agents_get_calls_and_a_silent_agent_is_paused(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(
        tmp_path,
        agents={
            "2001": agent("2001", "first_line"),
            "2002": agent("2002", "first_line"),
            "2003": agent("2003", "first_line"),
        },
        ring_time=1,
        answer_target=60,
    )
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "1")  # would answer, but is paused
        await agent_behaves(tester, "2002", "never", "1")  # rings out: autopaused
        await agent_behaves(tester, "2003", "0", "1")
        await engine.agents.login("2001")
        await engine.agents.pause("2001", "lunch")
        await engine.agents.login("2002")
        await engine.agents.login("2003")
        report = await call(tester, "+380440000011", EXISTING, stay=15)
        await log.wait_for(event("AgentConnect"), timeout=15)
        called = {str(e["Interface"]) for _, e in log.find(event("AgentCalled"))}
        _, connect = log.find(event("AgentConnect"))[0]
        await eventually(lambda: engine.agents.get("2002").state == "paused")
        states = {a.id: (a.state, a.reason) for a in engine.agents.agents()}
    tester.off_event("*", log)
    assert report.queued_in == "first_line", report.summary()
    assert "Local/2001@ivr-test-agent" not in called  # paused: never rung
    assert "Local/2002@ivr-test-agent" in called
    assert log.find(event("AgentRingNoAnswer", MemberName="2002"))
    assert connect["MemberName"] == "2003"
    assert states["2001"] == ("paused", "lunch")
    assert states["2002"][0] == "paused"


async def test_escalation_runs_at_the_answer_target_each_step_once(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    ladder = [
        {"after": 1.0, "raise_priority": 3},
        {"after": 1.5, "raise_priority": 2},
        {"after": 2.0, "overflow": "senior"},
    ]
    queues = fast_queues(
        tmp_path,
        agents={"2001": agent("2001", "senior")},
        escalation=ladder,
        answer_target=1.0,
    )
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        report_task = call(tester, "+380440000021", EXISTING, stay=6)
        joined_at, joined = await log.wait_for(event("QueueCallerJoin", Queue="first_line"))
        call_id = str(joined["Uniqueid"])
        await log.wait_for(event("QueueCallerJoin", Queue="senior"), timeout=10)
        status = await engine.queue_actions.status()
        await asyncio.sleep(1.0)  # nothing more may happen
        report = await report_task
        row = await journal_row(engine, call_id)
    tester.off_event("*", log)
    missed = log.find(event("IvrTargetMissed", CallID=call_id))
    steps = log.find(event("IvrEscalation", CallID=call_id))
    assert len(missed) == 1
    assert [e["Step"] for _, e in steps] == ["raise_priority", "raise_priority", "overflow"]
    assert [e["Detail"] for _, e in steps] == [
        "priority 5 -> 8",
        "priority 8 -> 10",
        "first_line -> senior",
    ]
    # each mark within 250 ms of its time, measured from the QueueCallerJoin Asterisk sent
    for (at, _), due in zip([missed[0], *steps], [1.0, 1.0, 1.5, 2.0], strict=True):
        assert due <= at - joined_at + 0.05 < due + 0.25, (due, at - joined_at)
    entry = [m for m in status if m.get("Event") == "QueueEntry" and m.get("Uniqueid") == call_id]
    assert entry and entry[0]["Queue"] == "senior"
    assert report.queued_in == "senior"  # the last queue it joined
    assert row is not None
    assert row.escalations == "raise_priority,overflow"
    assert row.target_met is False


async def test_talk_guideline_beeps_the_agent_alerts_and_is_recorded(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(
        tmp_path,
        agents={"2001": agent("2001", "first_line")},
        talk_warning=1,
        talk_guideline=2,
    )
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "3.5")
        await engine.agents.login("2001")
        report = await call(tester, "+380440000031", EXISTING, stay=15)
        _, connect = log.find(event("AgentConnect"))[0]
        row = await journal_row(engine, report.call_id)
    tester.off_event("*", log)
    agent_channel = str(connect["DestChannel"])
    limits = log.find(event("IvrTalkLimit", CallID=report.call_id))
    spies = log.find(lambda e: e.get("Event") == "ChanSpyStart")
    assert [e["Level"] for _, e in limits] == ["warning", "guideline"]
    assert [e["SpyeeChannel"] for _, e in spies] == [agent_channel, agent_channel]
    assert row is not None
    assert row.over_guideline is True
    assert row.agent == "2001"
    assert row.talk_seconds is not None and 3 <= row.talk_seconds < 5
    assert row.target_met is True and row.outcome == "answered"


async def test_the_hard_limit_ends_the_call_and_journals_its_talk_every_time(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    """The engine hangs up at the hard limit (2 s): each of 5 calls is journalled with its
    talk time up to the engine's hangup and ended_by hard_limit, at once (not only when
    app_queue's AgentComplete comes, which it sometimes does not)."""
    queues = fast_queues(
        tmp_path, agents={"2001": agent("2001", "first_line")}, hard_limit=2, talk_guideline=1
    )
    log = AmiLog()
    tester.on_event("*", log)
    rows = []
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "20")  # the agent would talk on
        await engine.agents.login("2001")
        for n in range(5):
            report = await call(tester, f"+38044000007{n}", EXISTING, stay=20)
            assert report.call_id, report.summary()
            deadline = asyncio.get_running_loop().time() + 2.5  # within the Hangup grace
            row = await journal_row(engine, report.call_id)
            while (row is None or row.ended_by is None) and (
                asyncio.get_running_loop().time() < deadline
            ):
                await asyncio.sleep(0.1)
                row = await journal_row(engine, report.call_id)
            rows.append(row)
    tester.off_event("*", log)
    limits = log.find(event("IvrTalkLimit", Level="hard_limit"))
    assert len(limits) == 5
    print("hard limit 2 s, talk journalled:", [row and row.talk_seconds for row in rows])
    for row in rows:
        assert row is not None and row.outcome == "answered"
        assert row.ended_by == "hard_limit", row
        assert row.talk_seconds is not None and 2 <= row.talk_seconds < 2.5, row.talk_seconds
        assert row.over_guideline is True


async def test_callback_offer_is_taken_and_the_call_back_rings_at_most_the_cap(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = callback_offer_queues(tmp_path)
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "1")
        # the caller's phone rings out: 2 attempts of 2 rings (1 s each), 1 s apart
        await callee_behaves(tester, "380440000041", answer="never")
        task = call(tester, "380440000041", EXISTING, stay=20)
        _, joined = await log.wait_for(event("QueueCallerJoin", Queue="first_line"))
        await log.wait_for(event("IvrEscalation", Step="offer_callback"), timeout=5)
        await asyncio.sleep(0.5)  # the offer is whispered; the caller presses 1
        await tester.play_dtmf(str(joined["Channel"]), "1", receive=True)
        await log.wait_for(event("IvrCallbackAccepted"), timeout=5)
        report = await task
        await asyncio.sleep(1.0)
        assert not log.find(event("IvrCallbackOutcome"))  # nobody is ready to take it
        await engine.agents.login("2001")
        await log.wait_for(event("IvrCallbackOutcome", Final="yes"), timeout=20)
        outcomes = log.find(event("IvrCallbackOutcome"))
        stored = engine.callback_store.get(int(outcomes[0][1]["CallbackID"]))
    tester.off_event("*", log)
    assert report.queued_in == "first_line", report.summary()
    assert [(e["Attempt"], e["Outcome"]) for _, e in outcomes] == [
        ("1", "no_answer"),
        ("2", "no_answer"),
    ]
    # the second attempt ended one retry (1 s) plus one ring cap (2 s) after the first
    between = outcomes[1][0] - outcomes[0][0]
    assert 2.8 < between < 4.0, between
    assert stored is not None
    assert (stored.status, stored.attempts, stored.outcome) == ("failed", 2, "no_answer")
    assert stored.phone == "380440000041" and stored.queue == "first_line"
    assert stored.waiting_since is not None  # the place the caller kept


async def test_called_back_caller_joins_the_queue_and_is_answered(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")})
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "1")
        await callee_behaves(tester, "380440000042", answer="0.5", talk="10")
        await engine.agents.login("2001")
        engine.notifier.publish(
            CallbackRequested(
                "menu-call-1",
                "5551000",
                "380440000042",
                "Іван",
                "first_line",
                "existing_service",
                promised_by=datetime.now(UTC) + timedelta(minutes=30),
            )
        )
        await engine.reports.flush()
        _, outcome = await log.wait_for(event("IvrCallbackOutcome"), timeout=15)
        _, answered = await log.wait_for(event("IvrCallbackAnswered"), timeout=5)
        _, connect = await log.wait_for(event("AgentConnect"), timeout=10)
        stored = engine.callback_store.get(int(outcome["CallbackID"]))
        row = await journal_row(engine, str(connect["Uniqueid"]), ended=False)
    tester.off_event("*", log)
    assert (outcome["Outcome"], outcome["Final"]) == ("answered", "yes")
    assert answered["Class"] == "existing_service" and answered["Queue"] == "first_line"
    assert connect["MemberName"] == "2001"
    assert stored is not None and (stored.status, stored.attempts) == ("done", 1)
    assert row is not None and row.agent == "2001" and row.queue == "first_line"


async def test_called_back_caller_keeps_his_place_ahead_of_later_callers(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    """One agent; A waits, B waits and takes the callback, C joins after: A, B, then C."""
    queues = callback_offer_queues(tmp_path)
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "2")
        await callee_behaves(tester, "380440000062", answer="0.5", talk="10")
        await engine.agents.login("2001", paused=True, reason="briefing")
        first = call(tester, "380440000061", EXISTING, stay=20)
        await queued(log, 1)
        second = call(tester, "380440000062", EXISTING, stay=20)
        b_id = (await queued(log, 2))[1]
        _, joined = await log.wait_for(event("QueueCallerJoin", Uniqueid=b_id))
        await log.wait_for(event("IvrEscalation", Step="offer_callback", CallID=b_id), 5)
        await asyncio.sleep(0.5)  # the offer is whispered; B presses 1
        await tester.play_dtmf(str(joined["Channel"]), "1", receive=True)
        await log.wait_for(event("IvrCallbackAccepted", CallID=b_id), timeout=5)
        await second
        third = call(tester, "380440000063", EXISTING, stay=20)
        order = await queued(log, 3)
        await engine.agents.ready("2001")
        await log.wait_for(lambda e: len(log.find(event("AgentConnect"))) >= 3, timeout=30)
        answered = [str(e["Uniqueid"]) for _, e in log.find(event("AgentConnect"))]
        _, back = await log.wait_for(event("IvrCallbackAnswered"), timeout=1)
        await asyncio.gather(first, third)
    tester.off_event("*", log)
    a_id, c_id = order[0], order[2]
    assert answered == [a_id, str(back["CallID"]), c_id]


async def test_agents_api_and_cli_need_a_token_and_change_app_queue(
    sandbox: Sandbox,
    settings: Settings,
    tester: AmiClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line", "internet")})
    async with queue_engine(sandbox, settings, tmp_path, queues, api_tokens=WITH_AGENTS) as engine:
        base = f"http://127.0.0.1:{engine.settings.http_port}/api/agents"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/2001/login") as denied:
                assert denied.status == 401
            async with http.post(f"{base}/2001/login", headers=auth) as reply:
                assert reply.status == 200
                assert (await reply.json())["agent"]["queues"] == ["first_line", "internet"]
            async with http.post(f"{base}/2001/pause", headers=auth, json={}) as bad:
                assert bad.status == 409  # a pause needs a reason
            async with http.post(
                f"{base}/2001/pause", headers=auth, json={"reason": "training"}
            ) as reply:
                assert reply.status == 200
            await eventually(lambda: engine.agents.get("2001").reason == "training")
            status = await engine.queue_actions.status()
            members = [m for m in status if m.get("Event") == "QueueMember"]
            assert {m["Queue"] for m in members if m["Name"] == "2001"} == {
                "first_line",
                "internet",
            }
            assert all(m["Paused"] == "1" for m in members if m["Name"] == "2001")
            async with http.post(f"{base}/9999/login", headers=auth) as missing:
                assert missing.status == 404
        # the CLI goes through the same API
        monkeypatch.setenv("IVR_HTTP_BIND", f"127.0.0.1:{engine.settings.http_port}")
        monkeypatch.setenv("IVR_API_TOKEN", "wrong-token-123")
        assert await asyncio.to_thread(main, ["agent", "ready", "2001"]) == 1
        assert "bearer token" in capsys.readouterr().err
        monkeypatch.setenv("IVR_API_TOKEN", OTHER_AGENT_TOKEN)  # agent 2002's token
        assert await asyncio.to_thread(main, ["agent", "ready", "2001"]) == 1
        assert "this token acts for agent 2002 only, not '2001'" in capsys.readouterr().err
        assert engine.agents.get("2001").state == "paused"
        monkeypatch.setenv("IVR_API_TOKEN", AGENT_TOKEN)  # 2001's own token
        assert await asyncio.to_thread(main, ["agent", "ready", "2001"]) == 0
        assert "2001     ready" in capsys.readouterr().out
        assert engine.agents.get("2001").state == "ready"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/2001/logout", headers=auth) as reply:
                assert reply.status == 200
            await eventually(lambda: engine.agents.get("2001").state == "logged_out")

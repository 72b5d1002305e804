"""queue_log on the real Asterisk: a SIPp caller keys through the engine's menu into a
queue whose ladder raises his priority, then overflows him; the sandbox's queue_log (inside
the chroot) holds the engine's lines for his call, with his uniqueid, once each, in order,
among app_queue's own. Then the callback lines: an offer taken and rung out twice, and a
menu's request called back and answered."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ivr.config import Settings
from ivr.events.model import CallbackRequested
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.calls.tester import agent_behaves, callee_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import (
    AmiLog,
    agent,
    callback_offer_queues,
    event,
    fast_queues,
    queue_engine,
)
from tests.e2e.sip_menu import sip_callers_in_queue

LADDER = [{"after": 0.5, "raise_priority": 3}, {"after": 1.0, "overflow": "senior"}]


def call_lines(path: Path, call_id: str) -> list[list[str]]:
    """The queue_log lines of one call, split into fields (time|uniqueid|queue|agent|...)."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return [fields for line in text.splitlines() if (fields := line.split("|"))[1:2] == [call_id]]


async def test_menu_path_and_escalations_reach_queue_log_in_order(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(
        tmp_path, agents={"2001": agent("2001", "senior")}, escalation=LADDER, answer_target=1.0
    )
    queue_log = sandbox.root / "var" / "log" / "asterisk" / "queue_log"
    log = AmiLog()
    async with queue_engine(sandbox, settings, tmp_path, queues):
        tester.on_event("*", log)
        async with sip_callers_in_queue(
            sandbox, tester, tmp_path / "sipp", 1, ["1"], hold=30.0
        ) as calls:
            (route,) = calls.routes.values()
            call_id = str(route["Uniqueid"])
            await log.wait_for(event("QueueCallerJoin", Queue="senior", Uniqueid=call_id), 10)

            def engine_lines() -> list[list[str]]:
                return [
                    f for f in call_lines(queue_log, call_id) if f[4] in ("IVRPATH", "ESCALATE")
                ]

            await eventually(lambda: len(engine_lines()) >= 3, timeout=5)
        tester.off_event("*", log)
    lines = call_lines(queue_log, call_id)
    ours = [f for f in lines if f[4] in ("IVRPATH", "ESCALATE")]
    assert [f[2:7] for f in ours] == [
        ["first_line", "NONE", "IVRPATH", "menu:1", "5551000"],
        ["first_line", "NONE", "ESCALATE", "raise_priority", "priority 10 -> 13"],
        ["first_line", "NONE", "ESCALATE", "overflow", "first_line -> senior"],
    ], lines
    assert ours[0][7:] == ["new_connection", "10"]  # the caller class and its priority
    assert 0.5 <= float(ours[1][7]) < 1.0 <= float(ours[2][7]) < 1.5  # the waits, s
    # among app_queue's lines for the call (he entered both queues), in time order
    assert [f[2] for f in lines if f[4] == "ENTERQUEUE"] == ["first_line", "senior"]
    assert [int(f[0]) for f in lines] == sorted(int(f[0]) for f in lines)
    assert route["Path"] == "menu:1"


def callback_lines(path: Path, call_id: str) -> list[list[str]]:
    return [f[2:] for f in call_lines(path, call_id) if f[4] == "CALLBACK"]


async def test_a_callback_s_request_attempts_and_outcomes_reach_queue_log(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queue_log = sandbox.root / "var" / "log" / "asterisk" / "queue_log"
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, callback_offer_queues(tmp_path)) as engine:
        await agent_behaves(tester, "2001", "0", "1")
        await callee_behaves(tester, "380440000051", answer="never")  # rings out, twice
        task = asyncio.create_task(place_call(tester, "5551000", "380440000051", ["2"], talk=20))
        _, joined = await log.wait_for(event("QueueCallerJoin", Queue="first_line"))
        call_id = str(joined["Uniqueid"])
        await log.wait_for(event("IvrEscalation", Step="offer_callback"), timeout=5)
        await asyncio.sleep(0.5)  # the offer is whispered; the caller presses 1
        await tester.play_dtmf(str(joined["Channel"]), "1", receive=True)
        await log.wait_for(event("IvrCallbackAccepted"), timeout=5)
        await task
        await engine.agents.login("2001")  # the queue is served: the callback is dialled
        await log.wait_for(event("IvrCallbackOutcome", Final="yes"), timeout=20)
        await eventually(lambda: len(callback_lines(queue_log, call_id)) >= 5, timeout=5)
    tester.off_event("*", log)
    lines = callback_lines(queue_log, call_id)
    assert [f[:2] for f in lines] == [["first_line", "NONE"]] * 5
    assert [f[2:4] for f in lines] == [["CALLBACK", "REQUESTED"]] + [
        ["CALLBACK", x] for x in ("DIALLED", "FAILED", "DIALLED", "FAILED")
    ]
    assert datetime.fromisoformat(lines[0][4]) > datetime.now(UTC)  # the promise
    assert [f[4:] for f in lines[1:]] == [
        ["1"],
        ["1", "no_answer", "retry"],
        ["2"],
        ["2", "no_answer", "final"],
    ]
    escalated = [f for f in call_lines(queue_log, call_id) if f[4] == "ESCALATE"]
    assert [f[5] for f in escalated] == ["offer_callback"]


async def test_a_menu_s_callback_answered_is_logged_under_its_call(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queue_log = sandbox.root / "var" / "log" / "asterisk" / "queue_log"
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")})
    call_id = f"menu-{datetime.now(UTC).timestamp():.0f}"
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "1")
        await callee_behaves(tester, "380440000052", answer="0.5", talk="3")
        await engine.agents.login("2001")
        engine.notifier.publish(  # as a menu's callback step does
            CallbackRequested(
                call_id, "5551000", "380440000052", "Іван", "first_line", "existing_service",
                promised_by=datetime.now(UTC) + timedelta(minutes=30),
            )
        )  # fmt: skip
        await engine.reports.flush()
        await log.wait_for(event("IvrCallbackOutcome"), timeout=15)
        await eventually(lambda: len(callback_lines(queue_log, call_id)) >= 2, timeout=5)
    tester.off_event("*", log)
    # the request came from the menu, not from this Asterisk's owner: no REQUESTED line
    assert callback_lines(queue_log, call_id) == [
        ["first_line", "NONE", "CALLBACK", "DIALLED", "1"],
        ["first_line", "NONE", "CALLBACK", "ANSWERED", "1"],
    ]

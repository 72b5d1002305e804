"""queue_log on the real Asterisk: a SIPp caller keys through the engine's menu into a
queue whose ladder raises his priority, then overflows him; the sandbox's queue_log (inside
the chroot) holds the engine's lines for his call, with his uniqueid, once each, in order,
among app_queue's own."""

from pathlib import Path

from ivr.config import Settings
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import AmiLog, agent, event, fast_queues, queue_engine
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

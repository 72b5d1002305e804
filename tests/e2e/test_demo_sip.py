"""`make demo`'s SIP part, on the queue-test flows: a caller over the SIP trunk (SIPp, its key
as RFC 4733 on the engine's request for it) is queued, agent 1001's baresip phone registered
as PJSIP/1001 rings, answers and hangs up after his talk, and the demo's summary line says
so in plain words, with the times the journal keeps."""

import re
from pathlib import Path

from ivr.config import Settings
from ivr.sandbox.calls.sip_agent import SipAgent
from ivr.sandbox.calls.sip_call import place_sip_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually, journal_row
from tests.e2e.queues_kit import fast_queues, queue_engine
from tests.e2e.sip_menu import sip_agent

PHONE_SIP = 25200  # the phone's fixed port (baresip binds the next one too)
ANSWER_AFTER, TALK = 1.0, 3.0
SUMMARY = re.compile(
    r"agent 1001 on a SIP phone \(baresip, PJSIP/1001\): rang (\d+\.\d) s, answered, "
    r"talked (\d+) s$"
)


async def test_a_sip_caller_is_answered_by_the_agent_on_a_sip_phone(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(tmp_path, agents={"1001": sip_agent("1001", "first_line")})
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        async with SipAgent(
            "1001", tmp_path / "phone", sandbox.dir, answer_after=ANSWER_AFTER, talk=TALK,
            sip_port=PHONE_SIP,
        ) as agent:  # fmt: skip
            await engine.agents.login("1001")
            await eventually(lambda: engine.agents.get("1001").state == "ready", 5)
            report = await place_sip_call(
                tester, "5551000", "+380440000093", ["1"], tmp_path / "caller", talk=15,
                timeout=30,
            )  # fmt: skip
            row = await journal_row(engine, report.call_id)
            summary = agent.summary()
    print(f"\n{report.summary()}\n{summary}")
    print(f"journal: agent {row and row.agent}, talk {row and row.talk_seconds} s")
    assert report.over_sip and report.call_id and not report.call_id.startswith("ivrtest-")
    assert report.via == "engine" and report.queued_in == "first_line", report.summary()
    assert report.path.startswith("menu:1"), report.path  # the RFC 4733 key chose it
    assert report.outcome == "queued", report.summary()
    assert report.seconds < 15, report.summary()  # it ended when the agent hung up
    assert agent.phone.count("CALL_INCOMING") == 1, agent.phone.events
    found = SUMMARY.search(summary)
    assert found, summary
    assert ANSWER_AFTER - 0.1 <= float(found[1]) <= ANSWER_AFTER + 0.6, summary
    assert int(found[2]) == TALK, summary
    assert row is not None and row.agent == "1001" and row.talk_seconds is not None, row
    assert abs(row.talk_seconds - TALK) < 0.6, row.talk_seconds

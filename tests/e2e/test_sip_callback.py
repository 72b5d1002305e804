"""A callback over the PJSIP trunk: SIPp as the carrier on 127.0.0.2:5060 (trunk `provider`
of telephony.yaml) answers the INVITE the engine's callback sends, talks and hangs up; the
called-back caller waits in the queue on one stable channel, so the journal has the call's
real talk time and the talk guideline applies to it. Both dial strings an admin may write
are run: the trunk itself, and a Local context that dials it without optimisation (/n)."""

import asyncio
import re
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from ivr.config import PROJECT_ROOT, Settings
from ivr.sandbox.calls.sip.audio import tone
from ivr.sandbox.calls.sip.carrier import CARRIER_IP, MEDIA_PORT
from ivr.sandbox.calls.sip.plan import MediaPlan
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.telephony.sip_config import load_telephony
from tests.e2e.conftest import journal_row
from tests.e2e.queues_kit import TOKEN, AmiLog, agent, event, fast_queues, queue_engine

PHONE = "380441234599"  # the caller called back
TALK = 8.0  # s the called-back caller talks (from his answer), then hangs up
GUIDELINE = 3.0  # s: the scaled-down talk guideline


# What an admin may write in callbacks.dial. The trunk itself is what ships; a Local
# channel with /n (its validation: tests/unit/queues) measured the same 8.0 s and 3 s.
DIALS = {"pjsip": "PJSIP/{phone}@provider"}


@pytest.mark.parametrize("dial", list(DIALS.values()), ids=list(DIALS))
async def test_callback_over_the_trunk_keeps_its_talk_time_and_guideline(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, dial: str
) -> None:
    trunk = load_telephony(PROJECT_ROOT / "telephony.yaml").outbound_trunk
    assert trunk is not None and trunk.caller_id, "telephony.yaml needs an outbound trunk"
    queues = fast_queues(
        tmp_path,
        agents={"2001": agent("2001", "first_line")},
        talk_guideline=GUIDELINE,
        callbacks={"dial": dial, "caller_id": trunk.caller_id, "max_rings": 3},
    )
    callee = scenario(
        "phone", tmp_path / "sipp", ring=1.0, hold=TALK, plan=MediaPlan(tone(440, TALK))
    )
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "30")  # the caller hangs up first
        await engine.agents.login("2001")
        with Sipp(
            callee, local_ip=CARRIER_IP, local_port=5060, media_port=MEDIA_PORT, timeout=30
        ) as sipp:
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{engine.settings.http_port}/api/callbacks",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    json={"phone": PHONE, "name": "Іван", "queue": "first_line", "line": "5551000"},
                ) as reply:
                    assert reply.status == 202, await reply.text()
            _, answered = await log.wait_for(event("IvrCallbackAnswered"), timeout=15)
            caller = str(answered["CallID"])
            connect_at, connect = await log.wait_for(
                event("AgentConnect", Uniqueid=caller), timeout=10
            )
            limit_at, limit = await log.wait_for(event("IvrTalkLimit", CallID=caller), TALK)
            complete_at, complete = await log.wait_for(
                event("AgentComplete", Uniqueid=caller), timeout=TALK + 5
            )
            result = await asyncio.to_thread(sipp.wait, 15)
        trunk_channel = [
            e for _, e in log.find(event("Newchannel")) if str(e["Channel"]).startswith("PJSIP/")
        ]
        bye_at, _ = await log.wait_for(
            lambda e: e.get("Event") == "Hangup" and e.get("Channel") == trunk_channel[0]["Channel"]
        )
        row = await journal_row(engine, caller)
        _, outcome = await log.wait_for(event("IvrCallbackOutcome"), timeout=5)
        stored = engine.callback_store.get(int(outcome["CallbackID"]))
    tester.off_event("*", log)
    result.check(1)
    invite = result.messages[result.messages.find("INVITE sip:") :]
    from_user = re.search(r"^From:.*?<sip:([^@>]+)@", invite, re.M | re.I)
    asserted = re.search(r"^P-Asserted-Identity:.*?<sip:([^@>]+)@", invite, re.M | re.I)
    real = bye_at - connect_at  # the caller's hangup (SIPp's BYE) minus the agent's answer
    print(
        f"\n{dial}: talk_seconds {row.talk_seconds if row else None}, real {real:.2f} s,"
        f" guideline at {limit_at - connect_at:.2f} s, AgentComplete {complete_at - connect_at:.2f}"
        f" s ({complete.get('Reason')}), From {from_user and from_user[1]},"
        f" PAI {asserted and asserted[1]}"
    )
    assert invite.startswith(f"INVITE sip:{PHONE}@"), invite[:200]
    assert from_user and from_user[1] == trunk.caller_id, invite[:800]
    assert asserted and asserted[1] == trunk.caller_id, invite[:800]
    assert connect["MemberName"] == "2001"
    assert TALK - 1.0 < real < TALK + 0.5, real
    assert row is not None and row.talk_seconds is not None, row
    assert abs(row.talk_seconds - real) < 0.5, (row.talk_seconds, real)
    assert row.over_guideline is True
    assert limit["Level"] == "guideline"
    assert GUIDELINE - 0.1 < limit_at - connect_at < GUIDELINE + 0.5
    assert (outcome["Outcome"], outcome["Final"]) == ("answered", "yes")
    assert stored is not None and (stored.status, stored.attempts) == ("done", 1)
    assert stored.phone == PHONE


async def test_a_callback_nobody_answers_rings_over_the_trunk_at_most_the_cap(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(
        tmp_path,
        agents={"2001": agent("2001", "first_line")},
        callbacks={"dial": DIALS["pjsip"], "max_rings": 2, "ring_seconds": 1, "attempts": 1},
    )
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await agent_behaves(tester, "2001", "0", "30")
        await engine.agents.login("2001")
        ringing = scenario("ringing", tmp_path / "sipp")
        with Sipp(
            ringing, local_ip=CARRIER_IP, local_port=5060, media_port=MEDIA_PORT, timeout=20
        ) as sipp:
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{engine.settings.http_port}/api/callbacks",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    json={"phone": PHONE, "name": "Іван", "queue": "first_line"},
                ) as reply:
                    assert reply.status == 202, await reply.text()
            _, outcome = await log.wait_for(event("IvrCallbackOutcome"), timeout=15)
            result = await asyncio.to_thread(sipp.wait, 10)
        stored = engine.callback_store.get(int(outcome["CallbackID"]))
    tester.off_event("*", log)
    result.check(1)
    invite_at = _sipp_time(result.messages, "INVITE sip:")
    cancel_at = _sipp_time(result.messages, "CANCEL sip:")
    print(f"\nunanswered: CANCEL {cancel_at - invite_at:.2f} s after the INVITE")
    assert 1.8 < cancel_at - invite_at < 2.6  # max_rings x ring_seconds = 2 s
    assert (outcome["Outcome"], outcome["Final"]) == ("no_answer", "yes")
    assert stored is not None and (stored.status, stored.outcome) == ("failed", "no_answer")
    assert not log.find(event("IvrCallbackAnswered"))


def _sipp_time(messages: str, start: str) -> float:
    """When SIPp received the first message that starts with `start` (its trace heads each
    message with a line of dashes and the local time)."""
    found = re.search(
        r"-+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n[^\n]*received[^\n]*\n\s*" + re.escape(start),
        messages,
    )
    assert found, messages[-2000:]
    return datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S.%f").timestamp()

"""Caller-controlled text over real SIP: the carrier (SIPp on 127.0.0.2, trunk `provider`)
delivers calls whose From header carries a hostile display name or user part, or a withheld
caller. None is identified as subscriber 380441234567, the journal is keyed by the call's
real uniqueid, the route is the normal one, and a callback goes only to the caller's own
number (none for a withheld or invalid one). The Local-channel version of these checks is
tests/e2e/test_hostile_callers.py."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Engine
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import journal_row
from tests.e2e.queues_kit import AmiLog, event, hang_up_everything
from tests.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT
from tests.sip.sipp import Sipp, SippResult, scenario

SUBSCRIBER = "380441234567"  # contract 10000001 in data/demo-store.yaml
CALLER = "380509999999"  # nobody's number
FORGED = f"agi_callerid: {SUBSCRIBER}"
# main menu 2 (support); an unknown 8-digit contract; service menu 0 (callback)
KEYS = ["2", "99999999", "0"]


@dataclass(frozen=True)
class Case:
    name: str  # the quoted display name, as sent (UTF-8)
    user: str  # the From URI's user part
    host: str = "[local_ip]:[local_port]"
    own_number: str | None = CALLER  # the number a callback may go to; None: no callback


# About 37 s a call (the whole menu is played out): the cases that differ over SIP. The
# other separators in a display name (U+2029, U+0085, raw VT/FF) and an escaped-colon user
# part passed the same way once measured; the Local-channel test (test_hostile_callers.py)
# covers every separator the engine's parser meets.
CASES = {
    "name-U+2028": Case(f"Bob\u2028{FORGED}\u2028agi_uniqueid: 1.999", CALLER),
    # an unescaped colon splits user:password: the caller ID becomes "380441234567,Phone",
    # whose digits alone would name the subscriber
    "user-raw-colon": Case("Bob", f"{SUBSCRIBER},Phone:380990000000", own_number=None),
    "anonymous": Case("Anonymous", "anonymous", "anonymous.invalid", own_number=None),
}


def _get_data(e: Any) -> bool:
    fields = dict(e)
    return (
        fields.get("Event") == "AGIExecStart"
        and str(fields.get("Channel", "")).startswith("PJSIP/provider-")
        and str(fields.get("Command", "")).upper().startswith("GET DATA")
    )


async def _nth_get_data(log: AmiLog, n: int, sipp: Sipp) -> Any:
    """The n-th GET DATA of the carrier's call (the menu waits for keys); None once SIPp
    has exited without it."""
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        found = log.find(_get_data)
        if len(found) > n:
            return found[n][1]
        if not sipp.running:
            return None
        await asyncio.sleep(0.02)
    pytest.fail(f"the menu never waited for key group {n + 1}")


def _rejected(result: SippResult) -> str | None:
    """The INVITE's final 4xx/5xx status line if Asterisk refused the call, "dropped" if it
    never answered (PJSIP drops a request it cannot parse), else None."""
    responses = [line for line in result.messages.splitlines() if line.startswith("SIP/2.0 ")]
    if not responses:
        return "dropped"
    for line in responses:
        if line.startswith(("SIP/2.0 4", "SIP/2.0 5")):
            return line.strip()
    return None


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_a_hostile_sip_caller_cannot_pose_as_a_subscriber(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path, case: Case
) -> None:
    await hang_up_everything(sandbox)
    before = {p.id for p in engine.callback_store.due(datetime.now(UTC) + timedelta(days=1))}
    sf = scenario(
        "caller", tmp_path, hold=15.0, answer_timeout=10.0, caller_id=case.user,
        caller_name=case.name, caller_host=case.host, keys_on_notify=KEYS,
    )  # fmt: skip
    log = AmiLog()
    tester.on_event("*", log)
    channel = ""
    try:
        with Sipp(
            sf, target=ASTERISK_SIP, service="5551000", local_ip=CARRIER_IP, local_port=5060,
            media_port=MEDIA_PORT, timeout=60,
        ) as sipp:  # fmt: skip
            for n, keys in enumerate(KEYS):
                asked = await _nth_get_data(log, n, sipp)
                if asked is None:
                    break  # refused or ended: judged below
                channel = str(asked["Channel"])
                reply = await tester.send(
                    {"Action": "PJSIPNotify", "Channel": channel, "Variable": "Event=ivr-press"}
                )
                assert "Success" in str(reply), (keys, reply)
            if channel and case.own_number is None:
                # no callback: routed to an operator instead; let the caller go
                await log.wait_for(event("IvrRoute"), timeout=15)
                await asyncio.sleep(1.0)
                await tester.hangup(channel)
            result = await asyncio.to_thread(sipp.wait, 40)
        await asyncio.sleep(0.5)
    finally:
        tester.off_event("*", log)
    after = [
        p for p in engine.callback_store.due(datetime.now(UTC) + timedelta(days=1))
        if p.id not in before
    ]  # fmt: skip
    refused = _rejected(result)
    print(f"case {case.user!r}/{case.name!r}: refused={refused} channel={channel!r}")
    assert engine.repository.get("1.999") is None
    if refused is not None:  # a clean SIP rejection: no engine effect at all
        assert not channel and not log.find(event("IvrRoute")), refused
        assert after == []
        return
    assert channel, result.output[-2000:]
    routes = [e for _, e in log.find(event("IvrRoute"))]
    starts = log.find(lambda e: e.get("Event") == "AGIExecStart" and e.get("Channel") == channel)
    uniqueid = str(starts[0][1]["Uniqueid"])
    row = await journal_row(engine, uniqueid, ended=True)  # the real uniqueid keys the journal
    assert row is not None
    print(f"  caller={row.caller!r} path={row.menu_path!r} queue={row.queue!r} "
          f"callbacks={[(p.phone, p.call_id) for p in after]}")  # fmt: skip
    assert row.caller != SUBSCRIBER, row.caller
    assert "identify:not_found" in (row.menu_path or ""), row.menu_path
    assert "identify:found" not in (row.menu_path or ""), row.menu_path
    if case.own_number is not None:
        assert row.caller == case.own_number
        assert [(p.phone, p.call_id) for p in after] == [(case.own_number, uniqueid)]
        assert result.exit_code == 0 and result.successful == 1, result.errors[-2000:]
    else:
        assert after == []  # withheld or invalid: no callback, an operator instead
        assert row.queue == "internet"
        assert routes and all(r.get("Queue") == "internet" for r in routes), routes

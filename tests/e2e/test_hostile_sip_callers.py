"""Caller-controlled text over real SIP: the carrier (SIPp on 127.0.0.2, trunk `provider`)
delivers calls whose From header carries a hostile display name or user part, or a withheld
caller. None is identified as subscriber 380441234567, the journal is keyed by the call's
real uniqueid, the route is the normal one, and a callback goes only to the caller's own
number (none for a withheld or invalid one). The Local-channel version of these checks is
tests/e2e/test_hostile_callers.py."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Engine
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT, press_next_key
from ivr.sandbox.calls.sip.sipp import Sipp, SippResult, scenario
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import journal_row
from tests.e2e.queues_kit import AmiLog, event, hang_up_everything

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


# About 37 s a call (the whole menu is played out; the cases call at once): the cases that
# differ over SIP. The other separators in a display name (U+2029, U+0085, raw VT/FF) and an
# escaped-colon user part passed the same way once measured; the Local-channel test
# (test_hostile_callers.py) covers every separator the engine's parser meets.
CASES = {
    "name-U+2028": Case(f"Bob\u2028{FORGED}\u2028agi_uniqueid: 1.999", CALLER),
    # an unescaped colon splits user:password: the caller ID becomes "380441234567,Phone",
    # whose digits alone would name the subscriber
    "user-raw-colon": Case("Bob", f"{SUBSCRIBER},Phone:380990000000", own_number=None),
    "anonymous": Case("Anonymous", "anonymous", "anonymous.invalid", own_number=None),
}


@dataclass
class ClaimingLog(AmiLog):
    """The test's AMI log; `claimed` holds the channels a case has taken as its own."""

    claimed: set[str] = field(default_factory=set)


def _get_data(e: Any) -> bool:
    fields = dict(e)
    return (
        fields.get("Event") == "AGIExecStart"
        and str(fields.get("Channel", "")).startswith("PJSIP/provider-")
        and str(fields.get("Command", "")).upper().startswith("GET DATA")
    )


def _new_carrier_channel(e: Any) -> bool:
    fields = dict(e)
    return fields.get("Event") == "Newchannel" and str(fields.get("Channel", "")).startswith(
        "PJSIP/provider-"
    )


async def _nth_get_data(
    log: ClaimingLog, n: int, sipp: Sipp, channels: list[str], has_channel: asyncio.Event
) -> Any:
    """The n-th GET DATA (the menu waits for keys) on channels[0], the call's channel; with
    channels empty, the call's channel is first found: the first new carrier channel not in
    `claimed`. None once SIPp has exited without it."""
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        if not channels:
            new = [e for _, e in log.find(_new_carrier_channel) if e["Channel"] not in log.claimed]
            if new:
                channels.append(str(new[0]["Channel"]))
                log.claimed.add(channels[0])
                has_channel.set()
        found = [e for _, e in log.find(_get_data)]
        mine = [e for e in found if channels and e["Channel"] == channels[0]]
        if len(mine) > n:
            return mine[n]
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


async def test_hostile_sip_callers_cannot_pose_as_a_subscriber(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path
) -> None:
    """The cases call at once, each from its own carrier port; each starts once the one
    before has its channel, so every case knows which channel is its own."""
    await hang_up_everything(sandbox)
    before = {p.id for p in engine.callback_store.due(datetime.now(UTC) + timedelta(days=1))}
    log = ClaimingLog()
    tester.on_event("*", log)
    try:
        started: list[asyncio.Task[Outcome]] = []
        for n, (name, case) in enumerate(CASES.items()):
            has_channel = asyncio.Event()
            started.append(
                asyncio.create_task(_call(tester, log, case, tmp_path / name, n, has_channel))
            )
            await asyncio.wait(
                [started[-1], asyncio.create_task(has_channel.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        outcomes = await asyncio.gather(*started)
        await asyncio.sleep(0.5)
    finally:
        tester.off_event("*", log)
    after = [
        p for p in engine.callback_store.due(datetime.now(UTC) + timedelta(days=1))
        if p.id not in before
    ]  # fmt: skip
    assert engine.repository.get("1.999") is None
    for case, outcome in zip(CASES.values(), outcomes, strict=True):
        await _judge(engine, log, case, outcome, after)


@dataclass(frozen=True)
class Outcome:
    channel: str
    result: SippResult


async def _call(
    tester: AmiClient, log: ClaimingLog, case: Case, directory: Path, n: int,
    has_channel: asyncio.Event,
) -> Outcome:  # fmt: skip
    await asyncio.to_thread(directory.mkdir)
    sf = scenario(
        "caller", directory, hold=15.0, answer_timeout=10.0, caller_id=case.user,
        caller_name=case.name, caller_host=case.host, keys_on_notify=KEYS,
    )  # fmt: skip
    channels: list[str] = []
    with Sipp(
        sf, target=ASTERISK_SIP, service="5551000", local_ip=CARRIER_IP, local_port=5060 + 2 * n,
        media_port=MEDIA_PORT + 10 * n, timeout=60,
    ) as sipp:  # fmt: skip
        try:
            for keys_n, keys in enumerate(KEYS):
                asked = await _nth_get_data(log, keys_n, sipp, channels, has_channel)
                if asked is None:
                    break  # refused or ended: judged below
                reply = await press_next_key(tester, channels[0])
                assert "Success" in str(reply), (keys, reply)
            if channels and case.own_number is None:
                # no callback: routed to an operator instead; let the caller go
                route = event("IvrRoute", CallID=_uniqueid(log, channels[0]))
                await log.wait_for(route, timeout=15)
                await asyncio.sleep(1.0)
                await tester.hangup(channels[0])
        finally:
            has_channel.set()
        result = await asyncio.to_thread(sipp.wait, 40)
    return Outcome(channels[0] if channels else "", result)


def _uniqueid(log: AmiLog, channel: str) -> str:
    starts = log.find(lambda e: e.get("Event") == "AGIExecStart" and e.get("Channel") == channel)
    return str(starts[0][1]["Uniqueid"])


async def _judge(
    engine: Engine, log: AmiLog, case: Case, outcome: Outcome, callbacks: list[Any]
) -> None:
    channel, result = outcome.channel, outcome.result
    refused = _rejected(result)
    print(f"case {case.user!r}/{case.name!r}: refused={refused} channel={channel!r}")
    if refused is not None:  # a clean SIP rejection: no engine effect at all
        assert not channel, refused
        return
    assert channel, result.output[-2000:]
    uniqueid = _uniqueid(log, channel)
    routes = [e for _, e in log.find(event("IvrRoute", CallID=uniqueid))]
    row = await journal_row(engine, uniqueid, ended=True)  # the real uniqueid keys the journal
    assert row is not None
    mine = [(p.phone, p.call_id) for p in callbacks if p.call_id == uniqueid]
    print(f"  caller={row.caller!r} path={row.menu_path!r} queue={row.queue!r} callbacks={mine}")
    assert row.caller != SUBSCRIBER, row.caller
    assert "identify:not_found" in (row.menu_path or ""), row.menu_path
    assert "identify:found" not in (row.menu_path or ""), row.menu_path
    if case.own_number is not None:
        assert row.caller == case.own_number
        assert mine == [(case.own_number, uniqueid)]
        assert result.exit_code == 0 and result.successful == 1, result.errors[-2000:]
    else:
        assert mine == []  # withheld or invalid: no callback, an operator instead
        assert row.queue == "internet"
        assert routes and all(r.get("Queue") == "internet" for r in routes), routes

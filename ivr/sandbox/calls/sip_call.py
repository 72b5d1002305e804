"""Place a real SIP call: SIPp as the carrier on the trunk `provider` (telephony.yaml,
identified by its source 127.0.0.2) dials a DID, and its caller presses the menu's keys as
RFC 4733 digits. The call is followed through the AMI events like a Local test call
(ivr.sandbox.calls.place): the engine's request for keys (AGI GET DATA / STREAM FILE) makes the
test send an in-dialog NOTIFY (AMI PJSIPNotify), on which SIPp plays the next key.
"""

import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ivr.flow.dtmf import SILENCE, KeyPlan
from ivr.sandbox.calls.place import CallReport, CallWatcher
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, press_next_key
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.telephony.ami import AmiClient

TRUNK_CHANNEL = "PJSIP/provider-"  # the trunk's inbound channels
KEY_GAP = 0.35  # s between two keys' NOTIFYs (each plays one 0.16 s RFC 4733 press)


async def place_sip_call(
    ami: AmiClient,
    line: str,
    caller: str,
    dtmf: Sequence[str],
    directory: Path,
    *,
    talk: float = 0.0,
    timeout: float = 60.0,
    port: int = 5060,
    media_port: int = 16000,
) -> CallReport:
    """Call DID `line` over the trunk as `caller` (SIPp from CARRIER_IP:`port`, its logs in
    `directory`), answer menus with `dtmf` tokens (one per request, as ivr.sandbox.calls.place),
    stay `talk` seconds once queued, then hang up. One SIP call at a time per `line`."""
    keys = [key for token in dtmf if token != SILENCE for key in token]
    script = scenario(
        "caller", directory, hold=talk + timeout, caller_id=caller, caller_name="",
        keys_on_notify=keys, answer_timeout=timeout,
    )  # fmt: skip
    report = CallReport(line=line, caller=caller, call_id="", over_sip=True)

    async def press(channel: str, pressed: str) -> None:
        for _ in pressed:  # each NOTIFY plays the caller's next key
            await press_next_key(ami, channel)
            await asyncio.sleep(KEY_GAP)

    watcher = CallWatcher(report, KeyPlan(dtmf), press)

    async def on_event(event: Any) -> None:
        if (
            not watcher.menu_side
            and event.get("Event") == "Newchannel"
            and str(event.get("Channel", "")).startswith(TRUNK_CHANNEL)
            and event.get("Exten") == line
        ):
            watcher.menu_side = report.call_id = str(event.get("Uniqueid", ""))
        await watcher(event)

    started = time.monotonic()
    ami.on_event("*", on_event)
    try:
        with Sipp(
            script, target=ASTERISK_SIP, service=line, local_ip=CARRIER_IP, local_port=port,
            media_port=media_port, timeout=talk + 2 * timeout,
        ) as sipp:  # fmt: skip
            await watcher.follow(talk, timeout)
            if not watcher.done.is_set() and watcher.menu_side:
                with contextlib.suppress(Exception):
                    await ami.hangup(watcher.menu_side)  # Asterisk sends the caller a BYE
            result = await asyncio.to_thread(sipp.wait, 10)
        if not watcher.menu_side:
            report.outcome = f"no call over the trunk (SIPp exit {result.exit_code})"
    finally:
        ami.off_event("*", on_event)
        report.seconds = time.monotonic() - started
    return report

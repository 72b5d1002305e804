"""A real SIP call through the menu: SIPp as the carrier on trunk `provider` (telephony.yaml)
dials a DID with PCMU and RFC 4733 DTMF; the engine's menu hears the key and queues the
PJSIP channel in the right queue with the right priority; the prompts the caller received
(captured on loopback) are audible."""

import asyncio
from pathlib import Path

from ivr.app import Engine
from ivr.calls.presser import key_command
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import journal_row
from tests.e2e.queues_kit import AmiLog, event, hang_up_everything
from tests.sip.audio import active_spans, dbfs
from tests.sip.carrier import CARRIER_IP, MEDIA_PORT, carrier_call, require
from tests.sip.rtp import Capture

RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports


def _menu_waits(channel_prefix: str):  # type: ignore[no-untyped-def]
    def matches(e: object) -> bool:
        fields = dict(e)  # type: ignore[call-overload]
        return (
            fields.get("Event") == "AGIExecStart"
            and str(fields.get("Channel", "")).startswith(channel_prefix)
            and key_command(str(fields.get("Command", ""))) is not None
        )

    return matches


async def test_sip_call_with_rfc4733_key_is_queued_and_hears_the_prompts(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    await hang_up_everything(sandbox)
    endpoints = await asyncio.to_thread(sandbox.cli, "pjsip show endpoints")
    assert "provider" in endpoints and "1001" in endpoints, endpoints
    log = AmiLog()
    tester.on_event("*", log)
    try:
        with Capture(tmp_path / "call.pcap", RTP_PORTS, max_seconds=60) as capture:
            call = await carrier_call("5551000", "380441234567", "1", tmp_path / "sipp")
            _, asked = await log.wait_for(_menu_waits("PJSIP/provider-"), timeout=20)
            channel = str(asked["Channel"])
            # the menu is waiting for a key: the carrier presses 1 (new connection)
            reply = await tester.send(
                {"Action": "PJSIPNotify", "Channel": channel, "Variable": "Event=ivr-press"}
            )
            assert "Success" in str(reply), reply
            _, route = await log.wait_for(event("IvrRoute"), timeout=15)
            await log.wait_for(event("QueueCallerJoin", Queue="connections"), timeout=10)
            entries = await tester.send({"Action": "QueueStatus", "Queue": "connections"})
            waiting = [
                dict(e)
                for e in (entries if isinstance(entries, list) else [])
                if e.get("Event") == "QueueEntry"
            ]
            row = await journal_row(engine, str(route["CallID"]), ended=False)
            await tester.hangup(channel)
            code = await call.finish(timeout=15)
    finally:
        tester.off_event("*", log)

    assert code == 0, call.errors()
    assert (route["Line"], route["Queue"], route["Class"], route["QueuePriority"]) == (
        "5551000",
        "connections",
        "new_connection",
        "10",
    )
    assert [(e["Channel"], e.get("Priority")) for e in waiting] == [(channel, "10")]
    assert row is not None
    assert (row.line, row.caller, row.queue, row.priority) == (
        "5551000",
        "380441234567",
        "connections",
        10,
    )
    assert row.menu_path == "hours:1>menu:1"

    streams = capture.streams()
    sent = [s for s in streams if s.src[0] == CARRIER_IP]
    assert "1" in "".join(s.digits() for s in sent)  # the key went out as RFC 4733
    to_caller = [s for s in streams if s.dst == (CARRIER_IP, MEDIA_PORT)]
    assert to_caller, [(s.src, s.dst) for s in streams]
    audio = to_caller[0].pcm()
    spoken = active_spans(audio, threshold_db=-40.0)
    speech_seconds = sum(s.duration for s in spoken)
    loud = audio[int(spoken[0].start * 8000) : int(spoken[-1].end * 8000)] if spoken else audio
    print(
        f"caller received {len(audio) / 8000:.1f} s, speech {speech_seconds:.1f} s "
        f"in {len(spoken)} spans, level {dbfs(loud):.1f} dBFS"
    )
    # welcome + main menu prompts: seconds of speech, far above the noise floor
    assert speech_seconds > 2.0
    assert dbfs(loud) > -35.0

"""Issue 12 over real SIP: carrier callers (SIPp on trunk `provider`, PCMU) sit in the main
menu of an engine under `ivr supervise`; the engine is SIGSTOPped. Every caller takes the
fallback path within seconds (the watchdog kills the engine, the AGI sockets close) and the
audio each caller received shows the fallback prompt after the stall: no caller is left in
silence until IVR_AGI_DEADLINE."""

import asyncio
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Any

from ivr.config import Settings
from ivr.offline.scripts import FALLBACK_DEADLINE_S
from ivr.sandbox.calls.sip.audio import active_spans
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT, require
from ivr.sandbox.calls.sip.rtp import Capture, RtpStream, received
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import hang_up_everything
from tests.e2e.test_watchdog import RELEASED_WITHIN, engine_pids, ready_count, supervised_engine

CALLERS = 10
RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports (Asterisk's side of every stream)
CHANNEL = "PJSIP/provider-"


def by_sender(streams: list[RtpStream]) -> dict[int, list[RtpStream]]:
    """The streams Asterisk sent to the carrier's media port, by Asterisk's RTP port: one
    group per call (a call may switch SSRC between prompts and the queue)."""
    groups: dict[int, list[RtpStream]] = {}
    for stream in streams:
        if stream.dst == (CARRIER_IP, MEDIA_PORT):
            groups.setdefault(stream.src[1], []).append(stream)
    return groups


def resumed(audio: Any, stopped: float, fallback: float) -> tuple[float, float, float, float]:
    """(onset, gap, quiet, heard), in seconds of `audio`: the first speech span starting at or
    after `fallback` (less 0.5 s), the silence before it counted from `stopped` (the SIGSTOP)
    and in all, and the seconds of speech from it on."""
    spans = active_spans(audio, threshold_db=-40.0)
    later = [s for s in spans if s.start >= fallback - 0.5]
    if not later:
        return float("inf"), float("inf"), float("inf"), 0.0
    onset = later[0].start
    before = [s.end for s in spans if s.end <= onset]
    quiet = onset - max(before, default=0.0)
    gap = min(quiet, onset - stopped)
    return onset, gap, quiet, sum(s.duration for s in later)


async def test_sip_callers_in_a_stalled_engines_menu_fall_back_and_hear_the_prompt(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    await hang_up_everything(sandbox)
    with supervised_engine(settings, tmp_path) as log:
        await eventually(lambda: ready_count(log) == 1, timeout=60)
        [stalled] = engine_pids(log)

        in_menu: dict[str, str] = {}  # Uniqueid -> channel
        fallback_at: dict[str, float] = {}
        joined_at: dict[str, float] = {}
        reasons: dict[str, str] = {}

        def on_event(event: Any) -> None:
            name, uid = event.get("Event"), str(event.get("Uniqueid", ""))
            if not str(event.get("Channel", "")).startswith(CHANNEL):
                return
            if name == "AGIExecStart" and "GET DATA" in str(event.get("Command")):
                in_menu.setdefault(uid, str(event.get("Channel")))
            elif name == "UserEvent" and event.get("UserEvent") == "IvrFallback":
                fallback_at.setdefault(uid, time.time())
                reasons[uid] = str(event.get("Reason", ""))
            elif name == "QueueCallerJoin" and event.get("Queue") == "first_line":
                joined_at.setdefault(uid, time.time())

        caller = scenario("caller", tmp_path / "sipp", hold=90.0, caller_id="380441234567")
        tester.on_event("*", on_event)
        try:
            with (
                Capture(tmp_path / "calls.pcap", RTP_PORTS, max_seconds=120) as capture,
                Sipp(
                    caller, target=ASTERISK_SIP, service="5551000", local_ip=CARRIER_IP,
                    local_port=5060, media_port=MEDIA_PORT, calls=CALLERS, rate=CALLERS,
                    timeout=100.0,
                ) as sipp,
            ):  # fmt: skip
                # silent callers: each waits in the main menu for a key
                await eventually(lambda: len(in_menu) >= CALLERS, timeout=30)
                await asyncio.sleep(1.0)
                stopped_at = time.time()
                os.kill(stalled, signal.SIGSTOP)  # a stuck event loop, to anyone watching
                await eventually(lambda: len(joined_at) >= CALLERS, timeout=30)
                await asyncio.sleep(5.0)  # the fallback prompt, then the queue
                await hang_up_everything(sandbox)  # BYE from Asterisk ends each SIPp call
                result = await asyncio.to_thread(sipp.wait, 30)
        finally:
            tester.off_event("*", on_event)
        result.check(CALLERS)

        waits = {uid: fallback_at.get(uid, float("inf")) - stopped_at for uid in in_menu}
        queued = {uid: joined_at.get(uid, float("inf")) - stopped_at for uid in in_menu}
        print(
            f"\n{CALLERS} SIP callers, SIGSTOP to IvrFallback: max {max(waits.values()):.2f} s,"
            f" median {statistics.median(waits.values()):.2f} s, min {min(waits.values()):.2f} s;"
            f" to QueueCallerJoin(first_line): max {max(queued.values()):.2f} s;"
            f" reasons {sorted(set(reasons.values()))}"
        )
        assert len(in_menu) == CALLERS, in_menu
        assert max(waits.values()) <= RELEASED_WITHIN, waits
        # after the announcement, fallback_route.py looks up the caller's class (at most its
        # deadline; in this burst, some wait for a free script): then the queue
        assert max(queued.values()) <= RELEASED_WITHIN + 1.0 + FALLBACK_DEADLINE_S, queued
        assert set(reasons.values()) <= {"SUCCESS/", "FAILURE/"}, reasons

        # What each caller heard from the SIGSTOP on: the fallback prompt starts within
        # seconds of the engine's kill (the menu prompt may play on until then).
        groups = by_sender(capture.streams())
        assert len(groups) == CALLERS, sorted(groups)
        origin = min(s.start for streams in groups.values() for s in streams)
        stopped, fallback = stopped_at - origin, min(fallback_at.values()) - origin
        heard = []
        for port, streams in sorted(groups.items()):
            audio = received(streams, (CARRIER_IP, MEDIA_PORT), start=origin)
            onset, gap, quiet, speech = resumed(audio, stopped, fallback)
            heard.append((port, onset - stopped, gap, quiet, speech))
        onsets = [h[1] for h in heard]
        gaps = [h[2] for h in heard]
        print(
            f"received audio: fallback prompt starts {min(onsets):.2f}-{max(onsets):.2f} s after"
            f" SIGSTOP (median {statistics.median(onsets):.2f}); silence before it: max"
            f" {max(gaps):.2f} s, median {statistics.median(gaps):.2f} s;"
            f" in all (the menu's wait for a key included): max {max(h[3] for h in heard):.2f} s;"
            f" speech from it on: min {min(h[4] for h in heard):.1f} s"
        )
        for _port, onset, gap, _quiet, speech in heard:
            assert onset <= RELEASED_WITHIN + 0.5, heard
            assert gap <= RELEASED_WITHIN, heard
            assert speech >= 1.0, heard  # the fallback prompt, heard
        assert f"(pid {stalled}) sent no watchdog ping" in log.read_text()

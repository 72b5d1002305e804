"""The SIP benchmark runs (a tiny round each side, a tiny saturation pair and a tiny probe),
and its calls carry media both ways: Asterisk's PCMU prompt reaches every SIPp caller, and
every caller's key goes to Asterisk as RFC 4733."""

import subprocess
import sys
from pathlib import Path

from ivr.config import PROJECT_ROOT
from ivr.sandbox.calls.sip.audio import dbfs
from ivr.sandbox.calls.sip.carrier import CARRIER_IP, MEDIA_PORT, require
from ivr.sandbox.calls.sip.rtp import PCMU, Capture
from ivr.sandbox.chroot import Sandbox

RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports (Asterisk's side of every stream)
CALLS, PROBE = 2, 3  # per variant; the probe's one level
TINY = ["--calls", str(CALLS), "--rate", "10", "--rounds", "1", "--no-warmup", "--saturate", "20",
        "--cap", str(PROBE), "--probe-ramp", "1", "--probe-key-at", "2"]  # fmt: skip


def test_sip_benchmark_runs_and_its_calls_carry_prompt_and_key(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    require("sipp", "sip-tester")
    require("tcpdump", "tcpdump")
    with Capture(tmp_path / "rtp.pcap", RTP_PORTS, max_seconds=90) as capture:
        bench = subprocess.run(
            [sys.executable, "-m", "tests.bench.sip", *TINY], cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=80,
        )  # fmt: skip
    out = bench.stdout + bench.stderr
    assert bench.returncode == 0, out
    assert "failed calls: 0 (target 0); engine calls that fell back: 0" in out, out
    assert f"most concurrent calls with media held: {PROBE} (level {PROBE}" in out, out
    assert "engine/dialplan ratio: median" in out and "bench-sip: targets met" in out, out
    assert "at saturation: dialplan" in out and "CPU per call: dialplan" in out, out

    streams = capture.streams()
    calls = 2 * 2 * CALLS + PROBE  # rated and saturation pairs, and the probe
    to_caller = [s for s in streams if s.dst == (CARRIER_IP, MEDIA_PORT)]
    # one per call (by SSRC too: Asterisk may give a later call a port an earlier one freed)
    prompts = {(s.src[1], s.ssrc): s for s in to_caller if PCMU in s.payload_types}
    assert len(prompts) == calls, [(s.src, s.payload_types) for s in to_caller]
    levels = sorted(dbfs(s.pcm()) for s in prompts.values())
    assert levels[0] > -35.0, levels  # every caller heard the prompt (silence is < -60)
    ports = {port for port, _ in prompts}
    from_caller = [s for s in streams if s.src[0] == CARRIER_IP and s.dst[1] in ports]
    keys = [e.digit for s in from_caller for e in s.dtmf()]
    assert keys == ["1"] * calls, keys

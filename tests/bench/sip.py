"""SIP benchmark: SIPp carrier callers (trunk `provider`, PCMU + RFC 4733) through the burst
benchmark's one-key menu, on the engine and in pure dialplan, alternating in the same run.
Each call hears the prompt (PCMU from Asterisk), presses 1 as RFC 4733 `--key-at` s after
the answer, and is routed; Asterisk hangs up. Then a concurrency probe: the same menu with a
25 s prompt through the engine, stepping up the number of callers held at once (each sends
and receives audio until its key), up to `--cap` or the first failure.

Prints per round and overall calls/s, failed calls, fallbacks, the engine/dialplan ratio
with its spread, the CPU each variant costs per call, and the most concurrent calls held
without a failure. Targets: 0 failed, ratio >= 0.95, at the rated `--rate` (100 calls/s:
about what this 2-core box serves in pure dialplan with SIPp on the same cores). Then one
pair of rounds at `--saturate` calls/s (200), more than the box serves either way: there the
ratio is the ratio of CPU per call, printed for information, not a target.

    python -m tests.bench.sip [--calls 300] [--rate 100] [--rounds 3] [--saturate 200] [--cap 400]

The engine runs as `ivr serve` on tests/bench/flows; the DIDs are sandbox-only
(dialplans/sandbox/ivr-bench-sip.conf). Every SIPp run is bounded by its call count and
`--timeout`; everything is on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT, require
from ivr.sandbox.calls.sip.plan import MediaPlan
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.bench.burst import bench_engine, cpu_seconds, wait_idle

DIDS = {"engine": "5567000", "dialplan": "5568000"}  # dialplans/sandbox/ivr-bench-sip.conf
PROBE_DID = "5567001"  # the engine's menu with a 25 s prompt
EXPECTED_QUEUE = "connections"  # the caller presses 1
RATIO_TARGET = 0.95
PROBE_STEPS = (25, 50, 100, 150, 200, 300, 400)


@dataclass
class Round:
    """One SIPp run of `calls` callers into one variant's menu, and what came of it."""

    variant: str
    calls: int
    sipp_successful: int = 0
    sipp_failed: int = 0
    peak: int = 0  # most calls SIPp had up at once (its statistics, sampled every second)
    done: dict[str, tuple[str, str]] = field(default_factory=dict)  # caller -> (via, queue)
    started: float = 0.0
    finished: float = 0.0
    asterisk_cpu: float = 0.0
    engine_cpu: float = 0.0

    @property
    def served(self) -> int:
        """Calls the menu routed as the caller chose (by the variant, not the fallback)."""
        return sum(
            1 for via, queue in self.done.values() if via != "fallback" and queue == EXPECTED_QUEUE
        )

    @property
    def keys_lost(self) -> int:
        """Calls the menu routed as if no key came (its timeout route): the key was lost."""
        return sum(1 for via, q in self.done.values() if via != "fallback" and q != EXPECTED_QUEUE)

    @property
    def fallbacks(self) -> int:
        return sum(1 for via, _ in self.done.values() if via == "fallback")

    @property
    def failed(self) -> int:
        """Calls that failed on the SIP side or were not routed as chosen (the larger)."""
        return max(self.calls - self.sipp_successful, self.calls - self.served)

    @property
    def seconds(self) -> float:
        return max(self.finished - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.served / self.seconds

    @property
    def cpu_ms_per_call(self) -> float:
        """Asterisk's and the engine's CPU per served call, in ms."""
        return 1000 * (self.asterisk_cpu + self.engine_cpu) / max(self.served, 1)


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of `values`."""
    if not values:
        raise ValueError("no values")
    return statistics.median(values), min(values), max(values)


def pair_ratios(engine: Sequence[Round], dialplan: Sequence[Round]) -> list[float]:
    """Engine calls/s over dialplan calls/s, round by round (rounds run in pairs)."""
    return [e.rate / d.rate if d.rate else 0.0 for e, d in zip(engine, dialplan, strict=True)]


def peak_concurrent(stats_csv: str) -> int:
    """The most calls up at once in a SIPp statistics file (-trace_stat, `;`-separated)."""
    rows = csv.DictReader(stats_csv.splitlines(), delimiter=";")
    return max((int(r.get("CurrentCall") or 0) for r in rows), default=0)


def probe_steps(cap: int) -> Iterator[int]:
    """The concurrency levels tried, ascending, ending at `cap`."""
    yield from (n for n in PROBE_STEPS if n < cap)
    yield cap


async def sip_round(
    ami: AmiClient,
    sandbox: Sandbox,
    workdir: Path,
    *,
    variant: str,
    did: str,
    calls: int,
    rate: float,
    key_at: float,
    timeout: float,
    engine_pid: int,
    tag: int,
) -> Round:
    """`calls` SIPp callers at `rate` calls/s into `did`, each pressing 1 `key_at` s after
    the answer; returns once Asterisk is idle again."""
    run = Round(variant, calls)
    prefix = f"9{tag:04d}"  # caller numbers 9<tag><SIPp call number>: this round's calls
    plan = MediaPlan.keys("1", first=key_at)  # PCMU silence until the key, then RFC 4733
    caller = scenario(
        "caller", workdir / f"{tag:04d}-{variant}", plan=plan, hold=key_at + 15.0,
        answer_timeout=timeout, caller_id=f"{prefix}[call_number]", caller_name="bench",
    )  # fmt: skip

    def on_done(event: Any) -> None:
        caller_id = str(event.get("CallerIDNum", ""))
        if event.get("UserEvent") == "IvrBenchDone" and caller_id.startswith(prefix):
            run.done[caller_id] = (str(event.get("Via", "")), str(event.get("Queue", "")))
            run.finished = time.monotonic()

    ami.on_event("UserEvent", on_done)
    cpu_before = cpu_seconds(sandbox.pid()), cpu_seconds(engine_pid)
    with Sipp(
        caller, target=ASTERISK_SIP, service=did, local_ip=CARRIER_IP, local_port=5060,
        media_port=MEDIA_PORT, calls=calls, rate=rate, timeout=timeout,
        extra=["-fd", "1"], trace_messages=False,
    ) as sipp:  # fmt: skip
        run.started = time.monotonic()
        result = await asyncio.to_thread(sipp.wait)
    run.asterisk_cpu = cpu_seconds(sandbox.pid()) - cpu_before[0]
    run.engine_cpu = cpu_seconds(engine_pid) - cpu_before[1]
    run.sipp_successful, run.sipp_failed = result.successful, result.failed
    run.peak = peak_concurrent((sipp.logs / "stats.csv").read_text(errors="replace"))
    await wait_idle(sandbox)
    ami.off_event("UserEvent", on_done)
    if run.failed:
        print(f"  {variant} round {tag}: SIPp errors: {result.errors[-1500:]}", file=sys.stderr)
    return run


def row(run: Round) -> str:
    return (
        f"{run.variant:<9} {run.calls:>6} {run.served:>7} {run.failed:>7} {run.fallbacks:>10} "
        f"{run.peak:>5} {run.seconds:>8.2f} {run.rate:>8.1f} {run.asterisk_cpu:>9.2f} "
        f"{run.engine_cpu:>9.2f} {run.cpu_ms_per_call:>8.2f}"
    )


HEADER = (
    f"{'variant':<9} {'calls':>6} {'served':>7} {'failed':>7} {'fallbacks':>10} {'peak':>5} "
    f"{'seconds':>8} {'calls/s':>8} {'ast cpu':>9} {'eng cpu':>9} {'ms/call':>8}"
)


@dataclass
class Bench:
    """One engine, one AMI session, the rounds placed so far."""

    args: argparse.Namespace
    ami: AmiClient
    sandbox: Sandbox
    workdir: Path
    engine_pid: int
    runs: dict[str, list[Round]] = field(default_factory=lambda: {"engine": [], "dialplan": []})
    saturated: dict[str, Round] = field(default_factory=dict)
    probes: list[Round] = field(default_factory=list)
    tag: int = 0

    async def once(self, variant: str, did: str, calls: int, rate: float, key_at: float) -> Round:
        self.tag += 1
        run = await sip_round(
            self.ami, self.sandbox, self.workdir, variant=variant, did=did, calls=calls,
            rate=rate, key_at=key_at, timeout=self.args.timeout, engine_pid=self.engine_pid,
            tag=self.tag,
        )  # fmt: skip
        print(row(run), flush=True)
        return run

    async def rated(self) -> None:
        """Warm-up (not counted: Asterisk's first calls grow its pools), then the rounds,
        alternating the order so drift hits both alike."""
        a = self.args
        if a.warmup:
            for variant in ("dialplan", "engine"):
                await self.once(variant, DIDS[variant], a.calls, a.rate, a.key_at)
        for i in range(a.rounds):
            for variant in ("dialplan", "engine") if i % 2 == 0 else ("engine", "dialplan"):
                run = await self.once(variant, DIDS[variant], a.calls, a.rate, a.key_at)
                self.runs[variant].append(run)

    async def saturate(self) -> None:
        a = self.args
        print(f"saturation (information, not a target): {a.calls} calls at {a.saturate:g}/s")
        for variant in ("dialplan", "engine"):
            self.saturated[variant] = await self.once(
                variant, DIDS[variant], a.calls, a.saturate, a.key_at
            )

    async def probe(self) -> None:
        a = self.args
        print(f"concurrency probe (engine, 25 s prompt, key at {a.probe_key_at} s):")
        for level in probe_steps(a.cap):
            rate = max(level / a.probe_ramp, 1.0)
            run = await self.once("probe", PROBE_DID, level, rate, a.probe_key_at)
            self.probes.append(run)
            if run.failed or run.fallbacks:
                break


async def main(args: argparse.Namespace) -> int:
    require("sipp", "sip-tester")
    async with bench_engine("bench-sip.db") as session:
        with tempfile.TemporaryDirectory(prefix="ivr-bench-sip-") as tmp:
            bench = Bench(args, session.ami, session.sandbox, Path(tmp), session.engine.pid)
            print(
                f"SIP benchmark: {args.calls} SIPp calls at {args.rate:g} calls/s per round, "
                f"{args.rounds} rounds per variant, key 1 (RFC 4733) {args.key_at} s after answer"
            )
            print(HEADER)
            await bench.rated()
            if args.saturate:
                await bench.saturate()
            if args.cap:
                await bench.probe()
    return report(args, bench.runs, bench.probes, bench.saturated)


def report_saturation(saturated: dict[str, Round]) -> None:
    engine, dialplan = saturated["engine"], saturated["dialplan"]
    print(
        f"at saturation: dialplan {dialplan.rate:.1f}, engine {engine.rate:.1f} calls/s "
        f"(ratio {engine.rate / max(dialplan.rate, 1e-9):.2f}); CPU per call: dialplan "
        f"{dialplan.cpu_ms_per_call:.1f} ms, engine {engine.cpu_ms_per_call:.1f} ms "
        f"(Asterisk {1000 * engine.asterisk_cpu / max(engine.served, 1):.1f} + engine "
        f"{1000 * engine.engine_cpu / max(engine.served, 1):.1f})"
    )


def report_probe(args: argparse.Namespace, probes: list[Round]) -> bool:
    held = [p for p in probes if not (p.failed or p.fallbacks)]
    best = max(held, key=lambda p: p.calls, default=None)
    stopped = "the cap" if len(held) == len(probes) else f"{probes[-1].calls} failed"
    if best is None:
        print(f"concurrency: no level held ({stopped})")
        return False
    print(f"most concurrent calls with media held: {best.peak} "
          f"(level {best.calls}, stopped at {stopped}, cap {args.cap})")  # fmt: skip
    return True


def report(
    args: argparse.Namespace,
    runs: dict[str, list[Round]],
    probes: list[Round],
    saturated: dict[str, Round] | None = None,
) -> int:
    engine, dialplan = runs["engine"], runs["dialplan"]
    ratios = pair_ratios(engine, dialplan)
    for name, rounds in (("dialplan", dialplan), ("engine", engine)):
        median, low, high = spread([r.rate for r in rounds])
        cpu = statistics.median(r.cpu_ms_per_call for r in rounds)
        print(f"{name} calls/s: median {median:.1f} (spread {low:.1f}-{high:.1f}); "
              f"CPU per call {cpu:.1f} ms")  # fmt: skip
    ratio, low, high = spread(ratios)
    failed = sum(r.failed for r in (*engine, *dialplan))
    fallbacks = sum(r.fallbacks for r in engine)
    print(
        f"engine/dialplan ratio: median {ratio:.2f} (spread {low:.2f}-{high:.2f}, "
        f"target >= {RATIO_TARGET})"
    )
    print(f"failed calls: {failed} (target 0); engine calls that fell back: {fallbacks}")
    lost = {name: sum(r.keys_lost for r in rounds) for name, rounds in runs.items()}
    print(f"of them, keys lost (the menu timed out): engine {lost['engine']}, "
          f"dialplan {lost['dialplan']}")  # fmt: skip
    ok = failed == 0 and fallbacks == 0 and ratio >= RATIO_TARGET
    if saturated:
        report_saturation(saturated)
    if args.cap:
        ok = report_probe(args, probes) and ok
    print("bench-sip:", "targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300, help="SIPp calls per round")
    parser.add_argument("--rate", type=float, default=100.0, help="calls/s SIPp places")
    parser.add_argument(
        "--saturate", type=float, default=200.0, help="calls/s of the saturation pair (0: none)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant")
    parser.add_argument("--key-at", type=float, default=0.8, help="seconds before the key")
    parser.add_argument("--timeout", type=float, default=60.0, help="bound of one SIPp run, s")
    parser.add_argument("--cap", type=int, default=400, help="probe up to this (0: no probe)")
    parser.add_argument("--probe-ramp", type=float, default=3.0, help="seconds to place a level")
    parser.add_argument("--probe-key-at", type=float, default=6.0, help="probe callers' key, s")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < 1 or args.probe_key_at <= args.probe_ramp:
        parser.error("rounds and calls >= 1; --probe-key-at after --probe-ramp")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))

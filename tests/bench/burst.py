"""Burst benchmark: N simultaneous calls through a small menu, on the engine and on the
same menu in pure dialplan, in the same run. Prints calls/s for both, their ratio and the
calls lost. Targets: 0 lost, ratio >= 0.8.

    python -m tests.bench.burst [--calls 2000] [--timeout 180]
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.config import PROJECT_ROOT, load_settings
from ivr.sandbox.calls.tester import tester_ami
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient

LINE = "7000"
EXPECTED_QUEUE = "connections"  # the caller presses 1
RATIO_TARGET = 0.8
SETTLE_SECONDS = 3.0


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """A process's resident memory (VmRSS), in KiB."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    variant: str
    calls: int
    asterisk_cpu: float = 0.0
    engine_cpu: float = 0.0
    done: dict[str, dict[str, str]] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0

    @property
    def served(self) -> int:
        return sum(
            1
            for e in self.done.values()
            if e.get("Via") in ("engine", "dialplan") and e.get("Queue") == EXPECTED_QUEUE
        )

    @property
    def lost(self) -> int:
        return self.calls - self.served

    @property
    def seconds(self) -> float:
        return max(self.finished - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.served / self.seconds


async def burst(
    ami: AmiClient,
    sandbox: Sandbox,
    variant: str,
    calls: int,
    timeout: float,
    engine_pid: int,
    first_key: float,
) -> Run:
    run = Run(variant, calls)
    asterisk_pid = sandbox.pid()
    cpu_before = cpu_seconds(asterisk_pid), cpu_seconds(engine_pid)
    prefix = f"bench-{variant}-{int(time.time())}-"
    all_done = asyncio.Event()

    def on_done(event: Any) -> None:
        uid = str(event.get("Uniqueid", ""))
        if event.get("UserEvent") == "IvrBenchDone" and uid.startswith(prefix):
            run.done[uid] = {"Via": str(event.get("Via", "")), "Queue": str(event.get("Queue", ""))}
            run.finished = time.monotonic()
            if len(run.done) >= calls:
                all_done.set()

    ami.on_event("UserEvent", on_done)

    async def originate(i: int) -> None:
        await ami.originate(
            f"Local/{LINE}@ivr-bench-{variant}/n",
            context="ivr-bench-caller",
            exten="press",
            caller_id=f"38044{i:07d}",
            channel_ids=(f"{prefix}{i:05d}-c", f"{prefix}{i:05d}-m"),
            variables={"BENCH_FIRST_KEY": str(first_key)},
            reply_timeout=60,
        )

    run.started = time.monotonic()
    await asyncio.gather(*(originate(i) for i in range(calls)))
    try:
        await asyncio.wait_for(all_done.wait(), timeout)
    except TimeoutError:
        run.finished = time.monotonic()
    run.asterisk_cpu = cpu_seconds(asterisk_pid) - cpu_before[0]
    run.engine_cpu = cpu_seconds(engine_pid) - cpu_before[1]
    await wait_idle(sandbox)
    return run


async def wait_idle(sandbox: Sandbox, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        out = await asyncio.to_thread(sandbox.cli, "core show channels count")
        if out.strip().startswith("0 active channels"):
            await asyncio.sleep(SETTLE_SECONDS)  # let Asterisk finish tearing threads down
            return
        await asyncio.sleep(1)


def start_engine(db: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        IVR_FLOWS_DIR=str(PROJECT_ROOT / "tests/bench/flows"),
        IVR_DATABASE_URL=f"sqlite:///{db}",
    )
    log = open(PROJECT_ROOT / "var" / "bench-engine.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ivr", "serve"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:8080/health", timeout=1) as reply:
                if b'"ami_connected": true' in reply.read():
                    return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("bench: the engine did not come up (see var/bench-engine.log)")


@dataclass
class BenchEngine:
    sandbox: Sandbox
    engine: subprocess.Popen[bytes]
    ami: AmiClient


@asynccontextmanager
async def bench_engine(db_name: str) -> AsyncIterator[BenchEngine]:
    """`ivr serve` on the bench flows with a fresh var/<db_name> store, and a quiet AMI
    session (UserEvents only) on the sandbox; both end with the block."""
    settings = load_settings()
    sandbox = Sandbox(settings.sandbox_dir, settings.queues_file)
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    db = PROJECT_ROOT / "var" / db_name
    db.unlink(missing_ok=True)
    engine = start_engine(db)
    ami = tester_ami(settings, events="user")
    try:
        await ami.connect()
        yield BenchEngine(sandbox, engine, ami)
    finally:
        await ami.close()
        engine.terminate()
        engine.wait(10)


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


async def main(calls: int, timeout: float, rounds: int, first_key: float) -> int:
    baselines: list[Run] = []
    measures: list[Run] = []
    async with bench_engine("bench.db") as bench:
        ami, sandbox, engine = bench.ami, bench.sandbox, bench.engine
        # Warm-up, not counted: Asterisk's first bursts pay for growing its memory and thread
        # pools (mostly kernel time), which would penalise whichever variant runs first.
        for variant in ("dialplan", "engine"):
            await burst(ami, sandbox, variant, calls, timeout, engine.pid, first_key)
        for i in range(rounds):  # alternate the order, so drift hits both variants alike
            for variant in ("dialplan", "engine") if i % 2 == 0 else ("engine", "dialplan"):
                run = await burst(ami, sandbox, variant, calls, timeout, engine.pid, first_key)
                (baselines if variant == "dialplan" else measures).append(run)
    baseline, measured = median_run(baselines), median_run(measures)
    ratio = measured.rate / baseline.rate if baseline.rate else 0.0
    print(
        f"burst benchmark: {calls} simultaneous calls through a one-key menu, {rounds} rounds, "
        f"first key {first_key} s after answer"
    )
    print(
        f"{'variant':<10} {'served':>7} {'lost':>5} {'seconds':>8} {'calls/s':>8} "
        f"{'asterisk cpu s':>15} {'engine cpu s':>13}"
    )
    for run in (*baselines, *measures):
        print(
            f"{run.variant:<10} {run.served:>7} {run.lost:>5} {run.seconds:>8.2f} "
            f"{run.rate:>8.1f} {run.asterisk_cpu:>15.2f} {run.engine_cpu:>13.2f}"
        )
    fallback = sum(1 for r in measures for e in r.done.values() if e.get("Via") == "fallback")
    lost = sum(r.lost for r in measures)
    print(f"median calls/s: dialplan {baseline.rate:.1f}, engine {measured.rate:.1f}")
    print(f"engine/dialplan ratio: {ratio:.2f} (target >= {RATIO_TARGET})")
    print(f"engine calls that fell back: {fallback}; lost: {lost} (target 0)")
    ok = lost == 0 and ratio >= RATIO_TARGET
    print("bench:", "targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--first-key",
        type=float,
        default=0.8,
        help="seconds the caller listens before pressing (0: types ahead from the answer)",
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.calls, args.timeout, args.rounds, args.first_key)))

"""Soak benchmark: many calls through the engine's menu, in bounded batches, watching the
engine's memory. Prints the engine's RSS every `--every` calls (0, 1000, ... by default),
the growth per 1000 calls after `--warmup` calls, and fails when RSS grew more than
`--max-growth` MB from the RSS after warm-up (same run), or when a call was lost.

    python -m tests.bench.soak [--calls 10000] [--batch 200] [--warmup 1000] [--max-growth 4]

The burst benchmark's engine, flow and callers (tests/bench/burst.py): a one-key menu
through FastAGI, the caller presses 1, the engine routes and journals the call.
"""

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ivr.config import PROJECT_ROOT, load_settings
from ivr.sandbox.calls.tester import tester_ami
from ivr.telephony.ami import AmiClient
from tests.bench.burst import EXPECTED_QUEUE, LINE, rss_kib, start_engine

SETTLE_SECONDS = 2.0  # after a checkpoint's last call: the engine journals its hangups


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    return rss_kib(pid) / 1024


@dataclass
class Soak:
    placed: int = 0
    served: int = 0
    fell_back: int = 0
    rss: dict[int, float] = field(default_factory=dict)  # calls placed -> RSS MB


async def batch(ami: AmiClient, prefix: str, first: int, size: int, timeout: float) -> list[str]:
    """Place `size` calls at once; the Via of each that finished (engine, fallback)."""
    done: dict[str, str] = {}
    all_done = asyncio.Event()

    def on_done(event: Any) -> None:
        uid = str(event.get("Uniqueid", ""))
        if event.get("UserEvent") == "IvrBenchDone" and uid.startswith(prefix):
            ok = event.get("Queue") == EXPECTED_QUEUE
            done[uid] = str(event.get("Via", "")) if ok else "wrong-queue"
            if len(done) >= size:
                all_done.set()

    ami.on_event("UserEvent", on_done)
    try:
        await asyncio.gather(
            *(
                ami.originate(
                    f"Local/{LINE}@ivr-bench-engine/n",
                    context="ivr-bench-caller",
                    exten="press",
                    caller_id=f"38044{i:07d}",
                    channel_ids=(f"{prefix}{i:06d}-c", f"{prefix}{i:06d}-m"),
                    variables={"BENCH_FIRST_KEY": "0.5"},
                    reply_timeout=60,
                )
                for i in range(first, first + size)
            )
        )
        try:
            await asyncio.wait_for(all_done.wait(), timeout)
        except TimeoutError:
            pass
    finally:
        ami.off_event("UserEvent", on_done)
    return list(done.values())


async def soak(engine_pid: int, calls: int, size: int, every: int, timeout: float) -> Soak:
    settings = load_settings()
    ami = tester_ami(settings, events="user")  # only the UserEvents: a quiet session
    await ami.connect()
    result = Soak()
    prefix = f"soak-{int(time.time())}-"
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        result.rss[0] = rss_mb(engine_pid)
        while result.placed < calls:
            next_mark = (result.placed // every + 1) * every
            size_now = min(size, calls - result.placed, next_mark - result.placed)
            vias = await batch(ami, prefix, result.placed, size_now, timeout)
            result.placed += size_now
            result.served += vias.count("engine")
            result.fell_back += vias.count("fallback")
            if result.placed % every == 0 or result.placed == calls:
                await asyncio.sleep(SETTLE_SECONDS)
                result.rss[result.placed] = rss_mb(engine_pid)
                print(f"  {result.placed:>6} calls: engine RSS {result.rss[result.placed]:.1f} MB")
    finally:
        await ami.close()
    return result


def report(result: Soak, warmup: int, max_growth: float, seconds: float) -> bool:
    marks = sorted(result.rss)
    warm = max((m for m in marks if m <= warmup), default=0)
    last = marks[-1]
    growth = result.rss[last] - result.rss[warm]
    per_1000 = growth / ((last - warm) / 1000) if last > warm else 0.0
    lost = result.placed - result.served - result.fell_back
    print(f"soak: {result.placed} calls in {seconds:.0f} s ({result.placed / seconds:.1f} calls/s)")
    print("  calls   RSS MB")
    for mark in marks:
        print(f"  {mark:>5}   {result.rss[mark]:>6.1f}")
    print(
        f"after warm-up ({warm} calls, {result.rss[warm]:.1f} MB): {growth:+.1f} MB over "
        f"{last - warm} calls, {per_1000:+.2f} MB per 1000 calls (limit {max_growth:.1f} MB)"
    )
    print(f"served by the engine: {result.served}; fell back: {result.fell_back}; lost: {lost}")
    ok = growth <= max_growth and lost == 0 and last > warm
    if last <= warm:
        print("soak: no calls after warm-up: raise --calls above --warmup")
    print("soak:", "targets met" if ok else "TARGETS MISSED")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10000, help="calls in all")
    parser.add_argument("--batch", type=int, default=200, help="calls placed at once")
    parser.add_argument("--every", type=int, default=1000, help="calls between RSS readings")
    parser.add_argument("--warmup", type=int, default=1000, help="calls before the baseline")
    parser.add_argument("--max-growth", type=float, default=4.0, help="MB after warm-up")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per batch")
    args = parser.parse_args()
    if min(args.calls, args.batch, args.every) < 1 or args.warmup < 0:
        parser.error("--calls, --batch and --every must be positive, --warmup not negative")
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    db = PROJECT_ROOT / "var" / "soak.db"
    db.unlink(missing_ok=True)
    engine = start_engine(db)
    started = time.monotonic()
    try:
        result = asyncio.run(soak(engine.pid, args.calls, args.batch, args.every, args.timeout))
    finally:
        engine.terminate()
        engine.wait(10)
    return 0 if report(result, args.warmup, args.max_growth, time.monotonic() - started) else 1


if __name__ == "__main__":
    raise SystemExit(main())

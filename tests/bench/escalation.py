"""Escalation benchmark: how late the engine's answer-target and escalation marks come with
N callers waiting in one queue (no agent logged in), against the same measurement with one
caller at a time, in the same run.

Each caller joins the queue `bench_escalation` (answer target T, ladder: raise priority at
T and again at T+1), so it has three marks: IvrTargetMissed at T, IvrEscalation at T and
IvrEscalation at T+1. A mark's latency is the arrival at the bench's AMI session of the
engine's UserEvent, minus the arrival of the caller's own QueueCallerJoin, minus the
mark's time: it includes AMI transport both ways. Target: every mark within 250 ms.

    python -m tests.bench.escalation [--callers 500] [--target 2.0]

The engine runs as `ivr serve` in its own process (on free ports, a temporary database and
queues.yaml, writing queues.conf into the sandbox); the callers are Local channels that
skip the menu ([ivr-bench-waiter] in dialplans/sandbox/ivr-test.conf).
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.config import PROJECT_ROOT, load_settings
from ivr.sandbox.calls.tester import tester_ami
from ivr.sandbox.chroot import Sandbox
from ivr.telephony import names
from ivr.telephony.ami import AmiClient, AmiError
from tests.bench.burst import cpu_seconds, free_port, rss_kib
from tests.e2e.queues_kit import fast_queues

QUEUE = "bench_escalation"  # a queue of its own: other engines on the sandbox ignore it
WAITER_CONTEXT = "ivr-bench-waiter"
CALLER_CONTEXT = "ivr-test-caller"
QUEUE_FLOWS = PROJECT_ROOT / "tests" / "e2e" / "queue_flows"  # small flows, no speech
SPEC_MS = 250.0
BASELINE_CALLERS = 3  # per run
STEP_GAP = 1.0  # the second step comes this long after the first
# every bench caller (the ;1 halves; only this benchmark originates into its context)
WAITERS = f"/^Local.s@{WAITER_CONTEXT}-[0-9a-f]+;1$/"


@dataclass(frozen=True)
class MarkSpec:
    name: str
    after: float


def mark_specs(target: float) -> tuple[MarkSpec, ...]:
    return (
        MarkSpec("target missed", target),
        MarkSpec("step 1", target),
        MarkSpec("step 2", target + STEP_GAP),
    )


# --- the engine's configuration -----------------------------------------------------------


def write_queues(directory: Path, target: float) -> Path:
    """queues.yaml: the shipped queue names (so a concurrent test's queues survive this
    engine's QueueReload) plus the bench queue with its two-step ladder; no agents."""
    ladder = [
        {"after": target, "raise_priority": 1},
        {"after": target + STEP_GAP, "raise_priority": 1},
    ]
    bench = {"title": "escalation benchmark", "answer_target": target, "escalation": ladder}
    return fast_queues(directory, agents={}, queues={QUEUE: bench})


def health(port: int) -> Mapping[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as reply:
            data = json.loads(reply.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def start_engine(work: Path, queues: Path, config_dir: Path, log: Path) -> tuple[Any, int]:
    """`ivr serve` on free ports; returns the process once its AMI session is up."""
    flows = work / "flows"
    shutil.copytree(QUEUE_FLOWS, flows)
    http_port = free_port()
    env = dict(
        os.environ,
        IVR_FLOWS_DIR=str(flows),
        IVR_QUEUES_FILE=str(queues),
        IVR_DATABASE_URL=f"sqlite:///{work / 'ivr.db'}",
        IVR_ASTERISK_CONFIG_DIR=str(config_dir),
        IVR_HTTP_BIND=f"127.0.0.1:{http_port}",
        IVR_AGI_BIND=f"127.0.0.1:{free_port()}",  # no AGI here; keep 4573 to others
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivr", "serve"], env=env, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if health(http_port).get("ami_connected") is True:
            return proc, http_port
        time.sleep(0.3)
    proc.terminate()
    proc.wait(10)
    raise SystemExit(f"bench: the engine did not come up (see {log})")


# --- AMI helpers --------------------------------------------------------------------------


def as_list(reply: Any) -> list[Mapping[str, Any]]:
    return list(reply) if isinstance(reply, list) else [reply]


async def queue_callers(ami: AmiClient) -> tuple[bool, list[str]]:
    """Whether Asterisk knows the bench queue, and the channels waiting in it."""
    reply = as_list(await ami.send({"Action": "QueueStatus", "Queue": QUEUE}, timeout=20))
    known = any(m.get("Event") == "QueueParams" and m.get("Queue") == QUEUE for m in reply)
    waiting = [
        str(m.get("Channel", ""))
        for m in reply
        if m.get("Event") == "QueueEntry" and m.get("Queue") == QUEUE
    ]
    return known, waiting


def bump_mtime(path: Path) -> None:
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


async def ensure_queue(ami: AmiClient, queues: Path, limit: float = 20.0) -> None:
    """Wait until Asterisk knows the bench queue. Another session's `ivr sandbox up` (an
    e2e run) reloads queues.conf without it: then touch queues.yaml, so the engine writes
    its queues.conf again and has app_queue reload it."""
    start = time.monotonic()
    touched = False
    while not (await queue_callers(ami))[0]:
        waited = time.monotonic() - start
        if waited > limit:
            raise SystemExit(f"bench: queue {QUEUE} is not in Asterisk after {limit:.0f} s")
        if waited > 3.0 and not touched:
            await asyncio.to_thread(bump_mtime, queues)
            touched = True
        await asyncio.sleep(0.3)


async def hang_up(ami: AmiClient, channel: str) -> None:
    with contextlib.suppress(AmiError):  # already gone
        await ami.send({"Action": "Hangup", "Channel": channel}, timeout=20)


async def empty_queue(ami: AmiClient, limit: float = 30.0) -> list[str]:
    """Hang up whoever waits in the bench queue until nobody does; the ones left."""
    deadline = time.monotonic() + limit
    while True:
        _, waiting = await queue_callers(ami)
        if not waiting or time.monotonic() > deadline:
            return waiting
        for start in range(0, len(waiting), 50):
            await asyncio.gather(*(hang_up(ami, ch) for ch in waiting[start : start + 50]))
        await asyncio.sleep(1.0)


# --- one measurement ------------------------------------------------------------------------


@dataclass
class Caller:
    index: int
    joined: float | None = None
    missed: list[tuple[float, Mapping[str, Any]]] = field(default_factory=list)
    steps: list[tuple[float, Mapping[str, Any]]] = field(default_factory=list)
    left: bool = False

    def complete(self) -> bool:
        return self.joined is not None and bool(self.missed) and len(self.steps) >= 2


@dataclass
class Measure:
    callers: int
    specs: tuple[MarkSpec, ...]
    latencies: dict[str, list[float]] = field(default_factory=dict)  # mark name -> seconds
    # the engine's own view: the Wait it reports minus the mark's time (its timer's lateness)
    lateness: dict[str, list[float]] = field(default_factory=dict)
    joined: int = 0
    missing: int = 0
    failed_steps: int = 0
    extra_events: int = 0
    join_span: float = 0.0
    originate_errors: int = 0
    asterisk_cpu: float = 0.0
    engine_cpu: float = 0.0
    engine_rss_kib: int = 0  # with every caller of the measurement waiting

    @property
    def expected(self) -> int:
        return self.joined * len(self.specs)

    @property
    def seen(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def all_latencies(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]

    def all_lateness(self) -> list[float]:
        return [x for v in self.lateness.values() for x in v]

    def merge(self, other: "Measure") -> None:
        self.callers += other.callers
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        for name, values in other.lateness.items():
            self.lateness.setdefault(name, []).extend(values)
        self.joined += other.joined
        self.missing += other.missing
        self.failed_steps += other.failed_steps
        self.extra_events += other.extra_events
        self.originate_errors += other.originate_errors


class Listener:
    """Stamps the tester session's events for the callers of one measurement."""

    def __init__(self, callers: Mapping[str, Caller]) -> None:
        self.callers = callers
        self.all_joined = asyncio.Event()
        self.all_marked = asyncio.Event()
        self.all_left = asyncio.Event()  # set only once `hanging_up`
        self.hanging_up = False
        self.joins = 0
        self.lefts = 0
        self.complete = 0

    def __call__(self, event: Mapping[str, Any]) -> None:
        now = asyncio.get_running_loop().time()
        name = event.get("Event")
        if name == "UserEvent":
            caller = self.callers.get(str(event.get("CallID", "")))
            if caller is None:
                return
            was_complete = caller.complete()
            kind = event.get("UserEvent")
            if kind == names.EVENT_TARGET_MISSED:
                caller.missed.append((now, dict(event)))
            elif kind == names.EVENT_ESCALATION:
                caller.steps.append((now, dict(event)))
            if caller.complete() and not was_complete:
                self.complete += 1
                if self.complete >= len(self.callers):
                    self.all_marked.set()
            return
        caller = self.callers.get(str(event.get("Uniqueid", "")))
        if caller is None or event.get("Queue") != QUEUE:
            return
        if name == "QueueCallerJoin" and caller.joined is None:
            caller.joined = now
            self.joins += 1
            if self.joins >= len(self.callers):
                self.all_joined.set()
        elif name in ("QueueCallerLeave", "QueueCallerAbandon") and not caller.left:
            caller.left = True
            self.lefts += 1
            self.check_left()

    def check_left(self) -> None:
        if self.hanging_up and self.lefts >= self.joins:
            self.all_left.set()


async def measure(
    ami: AmiClient,
    label: str,
    count: int,
    target: float,
    batch: int,
    pause: float,
    pids: tuple[int | None, int | None],
) -> Measure:
    specs = mark_specs(target)
    last_after = max(s.after for s in specs)
    join_limit = max(30.0, count * 0.2)
    hold = int(join_limit + last_after + 120)  # the caller gives up after this
    prefix = f"bench-esc-{label}-{int(time.time() * 1000)}-"
    callers = {f"{prefix}{i:05d}-q": Caller(i) for i in range(count)}
    listener = Listener(callers)
    patterns = ("QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "UserEvent")
    for pattern in patterns:
        ami.on_event(pattern, listener)
    result = Measure(count, specs)
    cpu_before = cpu_seconds(pids[0]), cpu_seconds(pids[1])

    async def originate(i: int) -> None:
        try:
            await ami.originate(
                f"Local/s@{WAITER_CONTEXT}/n",
                context=CALLER_CONTEXT,
                exten="hold",
                caller_id=f"38044{i:07d}",
                channel_ids=(f"{prefix}{i:05d}-c", f"{prefix}{i:05d}-q"),
                variables={names.VAR_QUEUE: QUEUE, names.VAR_PRIORITY: "0"},
                timeout_ms=hold * 1000,  # never answered: it rings this long
                reply_timeout=30,
            )
        except AmiError as exc:
            result.originate_errors += 1
            print(f"bench: originate {i} failed: {exc}", file=sys.stderr)

    loop = asyncio.get_running_loop()
    try:
        for start in range(0, count, batch):
            await asyncio.gather(*(originate(i) for i in range(start, min(start + batch, count))))
            if start + batch < count:
                await asyncio.sleep(pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.all_joined.wait(), join_limit)
        result.engine_rss_kib = rss_kib(pids[1]) if pids[1] is not None else 0
        stamps = [c.joined for c in callers.values() if c.joined is not None]
        if stamps:  # the last joiner's last mark, and a margin for lateness
            wait = max(stamps) + last_after + 5.0 - loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.all_marked.wait(), max(wait, 0.1))
        await asyncio.sleep(0.3)  # a duplicate mark would come now
        result.asterisk_cpu = cpu_seconds(pids[0]) - cpu_before[0]
        result.engine_cpu = cpu_seconds(pids[1]) - cpu_before[1]
    finally:
        await hang_up(ami, WAITERS)  # one action for them all
        listener.hanging_up = True
        listener.check_left()
        with contextlib.suppress(TimeoutError):  # every caller who joined has left the queue
            await asyncio.wait_for(listener.all_left.wait(), 30)
        for pattern in patterns:
            ami.off_event(pattern, listener)
    tally(result, callers.values(), specs)
    return result


def tally(result: Measure, callers: Any, specs: tuple[MarkSpec, ...]) -> None:
    joins = [c.joined for c in callers if c.joined is not None]
    result.joined = len(joins)
    result.join_span = max(joins) - min(joins) if joins else 0.0
    for spec in specs:
        result.latencies.setdefault(spec.name, [])
        result.lateness.setdefault(spec.name, [])
    for caller in callers:
        if caller.joined is None:
            continue
        # the ladder's steps in the order the engine ran them (its Wait), then arrival
        steps = sorted(caller.steps, key=lambda s: (float(s[1].get("Wait") or 0), s[0]))
        result.failed_steps += sum(
            1 for _, e in steps if str(e.get("Detail", "")).startswith("failed")
        )
        seen = {
            "target missed": caller.missed[:1],
            "step 1": steps[:1],
            "step 2": steps[1:2],
        }
        result.extra_events += max(len(caller.missed) - 1, 0) + max(len(steps) - 2, 0)
        for spec in specs:
            marks = seen[spec.name]
            if not marks:
                result.missing += 1
                continue
            at, event = marks[0]
            result.latencies[spec.name].append(at - caller.joined - spec.after)
            result.lateness[spec.name].append(float(event.get("Wait") or 0) - spec.after)


# --- the report -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def stats(values: list[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000, max(values) * 1000


def row(label: str, values: list[float], lateness: list[float]) -> str:
    got, own = stats(values), stats(lateness)
    if got is None or own is None:
        return f"  {label:<24} {'-':>7}"
    p50, p99, top = got
    return (
        f"  {label:<24} {len(values):>7} {p50:>9.1f} {p99:>9.1f} {top:>9.1f}"
        f" {own[0]:>11.1f} {own[1]:>11.1f}"
    )


def report(name: str, m: Measure) -> None:
    print(
        f"{name}: callers {m.callers}, joined {m.joined}, marks expected {m.expected}, "
        f"seen {m.seen}, missing {m.missing}, failed steps {m.failed_steps}, "
        f"extra marks {m.extra_events}, originate errors {m.originate_errors}"
    )
    print(
        f"  {'mark (due after join)':<24} {'count':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"
        f" {'engine p50':>11} {'engine p99':>11}"
    )
    for spec in m.specs:
        label = f"{spec.name} ({spec.after:g} s)"
        print(row(label, m.latencies.get(spec.name, []), m.lateness.get(spec.name, [])))
    print(row("all marks", m.all_latencies(), m.all_lateness()))


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


def spec_ms(callers: int) -> float:
    """The p99 target at a load: 250 ms up to 500 waiting callers, 500 ms up to 2000."""
    return SPEC_MS if callers <= 500 else 2 * SPEC_MS


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Curve:
    """Every run's measurement at each load (callers -> one Measure per run)."""

    baseline: list[Measure] = field(default_factory=list)
    levels: dict[int, list[Measure]] = field(default_factory=dict)

    def add(self, callers: int, measured: Measure) -> None:
        self.levels.setdefault(callers, []).append(measured)


def curve_row(label: str, runs: list[Measure]) -> str:
    """Medians over the runs (and the spread of p99) of one load."""
    marks = [stats(m.all_latencies()) for m in runs]
    got = [m for m in marks if m is not None]
    if not got:
        return f"  {label:>7}  no marks"
    p99s = [g[1] for g in got]
    rates = [(m.joined - 1) / m.join_span for m in runs if m.join_span > 0]
    return (
        f"  {label:>7} {median([g[0] for g in got]):>8.1f} {median(p99s):>8.1f}"
        f" {min(p99s):>7.1f}-{max(p99s):<7.1f} {median([g[2] for g in got]):>8.1f}"
        f" {median([m.engine_cpu for m in runs]):>8.2f}"
        f" {median([m.asterisk_cpu for m in runs]):>8.2f}"
        f" {median(rates):>7.0f}"
    )


def report_curve(curve: Curve, runs: int) -> list[str]:
    """Print the curve; the targets missed."""
    print(
        f"\nthe curve: median of {runs} run(s) (p99 spread min-max); ms after each mark's time; "
        "CPU seconds during the load's measurement"
    )
    print(
        f"  {'callers':>7} {'p50':>8} {'p99':>8} {'p99 spread':>15} {'max':>8}"
        f" {'engine':>8} {'asterisk':>8} {'joins/s':>7}"
    )
    print(curve_row("1", curve.baseline))
    missed: list[str] = []
    base = [s for m in curve.baseline if (s := stats(m.all_latencies())) is not None]
    for callers, runs_at in curve.levels.items():
        print(curve_row(str(callers), runs_at))
    for callers, runs_at in curve.levels.items():
        p99 = median([s[1] for m in runs_at if (s := stats(m.all_latencies())) is not None])
        limit = spec_ms(callers)
        met = p99 <= limit
        print(
            f"target at {callers}: p99 <= {limit:.0f} ms: median p99 {p99:.1f} ms, "
            f"{ratio(p99, median([b[1] for b in base]))} x the 1-caller p99: "
            f"{'met' if met else 'NOT met'}"
        )
        if not met:
            missed.append(f"p99 {p99:.1f} ms at {callers} waiting callers (target {limit:.0f})")
    return missed


def rss_row(curve: Curve, start_kib: int) -> None:
    """The engine's RSS with each load waiting in the first run, over its RSS at start: an
    upper bound per caller (freed memory is reused, so later runs show less growth)."""
    parts = []
    for callers, runs_at in curve.levels.items():
        grown = runs_at[0].engine_rss_kib - start_kib
        parts.append(f"{callers}: +{grown / 1024:.1f} MiB ({grown / callers:.1f} KiB/caller)")
    print(
        f"engine RSS {start_kib / 1024:.1f} MiB at start; with each load waiting, first run: "
        + ", ".join(parts)
    )


def failures_of(name: str, m: Measure, log: Path) -> list[str]:
    failures = []
    if m.joined < m.callers:
        failures.append(f"{name}: {m.callers - m.joined} callers never joined")
    if m.missing:
        failures.append(f"{name}: {m.missing} marks missing")
    if m.failed_steps:
        failures.append(
            f"{name}: {m.failed_steps} escalation steps failed (see {log}; 'No such "
            "queue': another session reloaded the sandbox's queues.conf)"
        )
    if m.originate_errors:
        failures.append(f"{name}: {m.originate_errors} originates refused")
    return failures


async def one_run(
    ami: AmiClient,
    queues: Path,
    args: argparse.Namespace,
    pids: tuple[int | None, int | None],
    curve: Curve,
    log: Path,
    run: int,
) -> list[str]:
    """The 1-caller baseline, then each load, into `curve`; the failures."""
    failures: list[str] = []
    baseline = Measure(0, mark_specs(args.target))
    for i in range(BASELINE_CALLERS):
        await ensure_queue(ami, queues)
        single = await measure(ami, f"r{run}b{i}", 1, args.target, args.batch, args.pause, pids)
        baseline.merge(single)
        if not single.joined:
            raise SystemExit(
                f"bench: a caller did not join {QUEUE} (did another session reload the sandbox?)"
            )
    curve.baseline.append(baseline)
    failures += failures_of(f"run {run} baseline", baseline, log)
    for callers in args.levels:
        await asyncio.sleep(1.0)
        await ensure_queue(ami, queues)
        loaded = await measure(
            ami, f"r{run}n{callers}", callers, args.target, args.batch, args.pause, pids
        )
        curve.add(callers, loaded)
        if args.verbose:
            report(f"run {run}: {callers} waiting callers", loaded)
        failures += failures_of(f"run {run}, {callers} callers", loaded, log)
        left = await empty_queue(ami)
        if left:
            failures.append(f"{len(left)} callers still in {QUEUE}")
    return failures


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    sandbox = Sandbox(settings.sandbox_dir, settings.queues_file)
    if not sandbox.is_running():
        raise SystemExit("bench: the Asterisk sandbox is not running (make sandbox-up)")
    if "Queue(${IVR_QUEUE},rt)" not in sandbox.cli(f"dialplan show {WAITER_CONTEXT}"):
        sandbox.up()  # the sandbox predates this [ivr-bench-waiter]: write and reload its config
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    log = PROJECT_ROOT / "var" / "bench-escalation-engine.log"
    failures: list[str] = []
    curve = Curve()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-escalation-") as tmp:
        work = Path(tmp)
        queues = write_queues(work, args.target)
        engine, _ = start_engine(work, queues, sandbox.root / "etc" / "asterisk", log)
        ami = tester_ami(settings, events="agent,user")  # joins and UserEvents: quiet
        try:
            await ami.connect()
            await ensure_queue(ami, queues)  # the engine's QueueReload
            stale = await empty_queue(ami)
            if stale:
                raise SystemExit(f"bench: cannot empty {QUEUE}: {stale[:5]}")
            pids = (sandbox.pid(), engine.pid)
            idle_kib = rss_kib(engine.pid)
            for i in range(args.runs):
                failures += await one_run(ami, queues, args, pids, curve, log, i + 1)
                print(f"run {i + 1} of {args.runs} done", flush=True)
        finally:
            with contextlib.suppress(Exception):
                await empty_queue(ami, limit=10)
            await ami.close()
            engine.terminate()
            try:
                engine.wait(15)
            except subprocess.TimeoutExpired:
                engine.kill()
                engine.wait(5)
    print(
        f"escalation benchmark: answer target {args.target:g} s, ladder raise_priority at "
        f"{args.target:g} s and {args.target + STEP_GAP:g} s, no agent; latency = UserEvent "
        "arrival - QueueCallerJoin arrival - due time (bench's AMI session); callers join "
        f"{args.batch} at a time every {args.pause:g} s and wait without hold audio"
    )
    last = max(curve.levels) if curve.levels else 0
    if last:
        report(f"last run, {last} waiting callers", curve.levels[last][-1])
    failures += report_curve(curve, args.runs)
    rss_row(curve, idle_kib)
    print(
        "(engine: the lateness of the engine's own timer is the 'engine p50/p99' of the "
        "table above, its Wait minus the due time; the rest is the join's and the "
        "UserEvent's way through AMI, and for a step its QueueChangePriorityCaller)"
    )
    for failure in failures:
        print("bench: FAILED:", failure)
    if not failures:
        print("bench: all marks seen, every caller hung up, targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--levels",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100, 500, 1000, 2000],
        help="waiting callers of each measurement, comma-separated",
    )
    parser.add_argument("--runs", type=int, default=5, help="the curve's runs (medians)")
    parser.add_argument("--target", type=float, default=2.0, help="answer target T, seconds")
    parser.add_argument("--batch", type=int, default=50, help="originates sent together")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between batches")
    parser.add_argument("--verbose", action="store_true", help="every measurement's table")
    raise SystemExit(asyncio.run(run(parser.parse_args())))

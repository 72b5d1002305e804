"""Takeover benchmark: how long the live actions are without an owner when the owning engine
is killed (kill -9), and how late the ladder steps that fell due meanwhile run; against a
clean stop (the owner releases its lease) and against steps with no takeover, in the same
run.

Two engines (`ivr serve`) share a fresh PostgreSQL schema and the sandbox's Asterisk. Each
round, N callers join the bench queue (no agent; ladder: raise priority at T and T+1); half
a second after the last join the owner is killed (or stopped, or left alone); the other
engine's /health is polled until it owns the lease. Every step must run exactly once: each
caller ends at priority 2 in app_queue (a step run twice would raise it twice) with one
IvrEscalation announcement per step.

    python -m tests.bench.takeover [--kills 10] [--callers 20] [--target 2.0]
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.config import PROJECT_ROOT, load_settings
from ivr.sandbox.calls.tester import tester_ami
from ivr.sandbox.chroot import Sandbox
from ivr.telephony import names
from ivr.telephony.ami import AmiClient, AmiError
from tests.bench.burst import free_port
from tests.bench.escalation import (
    CALLER_CONTEXT,
    QUEUE,
    QUEUE_FLOWS,
    WAITER_CONTEXT,
    WAITERS,
    as_list,
    empty_queue,
    ensure_queue,
    hang_up,
    health,
    percentile,
    write_queues,
)
from tests.e2e.conftest import fresh_pg_schema, pg_url

LIMIT = 5.0  # s: the bound on a takeover
LEAD = 0.5  # s after the last join: the owner goes


@dataclass
class Engines:
    """The two `ivr serve` processes, by engine id."""

    work: Path
    queues: Path
    config_dir: Path
    database: str
    logs: Path  # the engines' logs (var/), kept for a look afterwards
    running: dict[str, tuple[subprocess.Popen[bytes], int]] = field(default_factory=dict)
    started: int = 0

    def start(self) -> str:
        self.started += 1
        name = f"engine-{self.started}"
        work = self.work / name
        shutil.copytree(QUEUE_FLOWS, work / "flows")
        http = free_port()
        env = dict(
            os.environ,
            IVR_FLOWS_DIR=str(work / "flows"),
            IVR_QUEUES_FILE=str(self.queues),
            IVR_DATABASE_URL=self.database,
            IVR_VAR_DIR=str(work / "var"),
            IVR_ASTERISK_CONFIG_DIR=str(self.config_dir),
            IVR_ENGINE_ID=name,
            IVR_HTTP_BIND=f"127.0.0.1:{http}",
            IVR_AGI_BIND=f"127.0.0.1:{free_port()}",  # no menus here
        )
        with (self.logs / f"bench-takeover-{name}.log").open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ivr", "serve"], env=env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 30
        while health(http).get("ami_connected") is not True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"bench: {name} did not come up (see var/bench-takeover-{name}.log)"
                )
            time.sleep(0.2)
        self.running[name] = (proc, http)
        return name

    def owner(self) -> str | None:
        for name, (_, http) in self.running.items():
            if health(http).get("owner") is True:
                return name
        return None

    def end(self, name: str, how: signal.Signals) -> None:
        proc, _ = self.running.pop(name)
        proc.send_signal(how)
        proc.wait(20)

    def stop_all(self) -> None:
        for name in list(self.running):
            with contextlib.suppress(Exception):
                self.end(name, signal.SIGTERM)


async def new_owner(engines: Engines, limit: float = 15.0) -> tuple[str, float]:
    """Poll every engine's /health until one owns the lease: (its id, seconds it took)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        owner = await asyncio.to_thread(engines.owner)
        if owner is not None:
            return owner, time.monotonic() - start
        await asyncio.sleep(0.02)
    raise SystemExit(f"bench: no engine took the lease over within {limit:g} s")


@dataclass
class Round:
    takeover: float | None = None  # s without an owner (None: no takeover this round)
    late: list[float] = field(default_factory=list)  # Late of the steps that ran late
    steps: int = 0
    wrong: list[str] = field(default_factory=list)  # callers not at priority 2 / not 2 steps


async def one_round(
    ami: AmiClient, engines: Engines, callers: int, target: float, how: signal.Signals | None
) -> Round:
    prefix = f"bench-to-{int(time.time() * 1000)}-"
    ids = [f"{prefix}{i:04d}-q" for i in range(callers)]
    joined: set[str] = set()
    steps: dict[str, list[Mapping[str, Any]]] = {call_id: [] for call_id in ids}

    def listen(event: Mapping[str, Any]) -> None:
        if event.get("Event") == "QueueCallerJoin" and event.get("Uniqueid") in steps:
            joined.add(str(event["Uniqueid"]))
        elif event.get("UserEvent") == names.EVENT_ESCALATION and event.get("CallID") in steps:
            steps[str(event["CallID"])].append(dict(event))

    for pattern in ("QueueCallerJoin", "UserEvent"):
        ami.on_event(pattern, listen)
    result = Round()
    try:
        for i, call_id in enumerate(ids):
            await ami.originate(
                f"Local/s@{WAITER_CONTEXT}/n",
                context=CALLER_CONTEXT,
                exten="hold",
                caller_id=f"38044{i:07d}",
                channel_ids=(call_id[:-1] + "c", call_id),
                variables={names.VAR_QUEUE: QUEUE, names.VAR_PRIORITY: "0"},
                timeout_ms=120_000,
                reply_timeout=30,
            )
        await wait_until(lambda: len(joined) >= callers, 20)
        first_join = time.monotonic()
        await asyncio.sleep(LEAD)
        if how is not None:
            owner = await asyncio.to_thread(engines.owner)
            assert owner is not None
            await asyncio.to_thread(engines.end, owner, how)
            _, result.takeover = await new_owner(engines)
            await asyncio.to_thread(engines.start)  # back, as a standby
        done = lambda: all(len(s) >= 2 for s in steps.values())  # noqa: E731
        await wait_until(done, max(0.1, first_join + target + 1 + LIMIT + 3 - time.monotonic()))
        await asyncio.sleep(0.5)  # a step run twice would show now
        result.wrong = await check_priorities(ami, steps)
    finally:
        await hang_up(ami, WAITERS)
        for pattern in ("QueueCallerJoin", "UserEvent"):
            ami.off_event(pattern, listen)
    done_steps = [e for events in steps.values() for e in events if e.get("Outcome") == "done"]
    result.steps = len(done_steps)
    result.late = [float(e.get("Late") or 0) for e in done_steps if float(e.get("Late") or 0)]
    await empty_queue(ami)
    return result


async def check_priorities(ami: AmiClient, steps: Mapping[str, list[Any]]) -> list[str]:
    """Callers whose priority in app_queue is not 2, or who were not announced 2 steps."""
    reply = as_list(await ami.send({"Action": "QueueStatus", "Queue": QUEUE}, timeout=20))
    priority = {
        str(m.get("Uniqueid")): int(m.get("Priority") or -1)
        for m in reply
        if m.get("Event") == "QueueEntry"
    }
    return [
        f"{call_id}: priority {priority.get(call_id)}, {len(events)} steps announced"
        for call_id, events in steps.items()
        if priority.get(call_id) != 2 or len(events) != 2
    ]


async def wait_until(check: Any, limit: float) -> None:
    """Poll `check` (it reads what the AMI listener collected) for up to `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)


def summary(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: none"
    return (
        f"{label}: n {len(values)}, p50 {percentile(values, 0.5):.2f} s, "
        f"max {max(values):.2f} s, min {min(values):.2f} s"
    )


def ratio(a: list[float], b: list[float]) -> str:
    if not a or not b or percentile(b, 0.5) <= 0:
        return "n/a"
    return f"{percentile(a, 0.5) / percentile(b, 0.5):.1f}x"


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    sandbox = Sandbox(settings.sandbox_dir, settings.queues_file)
    if not sandbox.is_running():
        raise SystemExit("bench: the Asterisk sandbox is not running (make sandbox-up)")
    rounds: dict[str, list[Round]] = {"kill -9": [], "clean stop": [], "no takeover": []}
    plan = [("no takeover", None)] * args.baseline + [
        ("clean stop", signal.SIGTERM)
    ] * args.baseline
    plan += [("kill -9", signal.SIGKILL)] * args.kills
    with (
        tempfile.TemporaryDirectory(prefix="ivr-bench-takeover-") as tmp,
        fresh_pg_schema("ivr_bench_takeover", seed=False) as schema,
    ):
        work = Path(tmp)
        database = pg_url(schema)
        queues = write_queues(work, args.target)
        logs = PROJECT_ROOT / "var"
        engines = Engines(work, queues, sandbox.root / "etc" / "asterisk", database, logs)
        ami = tester_ami(settings, events="agent,user")
        try:
            engines.start()
            engines.start()
            await ami.connect()
            await ensure_queue(ami, queues)
            await empty_queue(ami)
            for n, (kind, how) in enumerate(plan, 1):
                await ensure_queue(ami, queues)
                rounds[kind].append(await one_round(ami, engines, args.callers, args.target, how))
                print(f"round {n} of {len(plan)} ({kind}) done", flush=True)
        finally:
            with contextlib.suppress(AmiError, OSError):
                await empty_queue(ami, limit=10)
            await ami.close()
            engines.stop_all()
    return report(rounds, args)


def report(rounds: Mapping[str, list[Round]], args: argparse.Namespace) -> int:
    kills, clean, calm = rounds["kill -9"], rounds["clean stop"], rounds["no takeover"]
    taken = [r.takeover for r in kills if r.takeover is not None]
    handed = [r.takeover for r in clean if r.takeover is not None]
    late_kill = [x for r in kills for x in r.late]
    late_calm = [x for r in calm for x in r.late]
    print(
        f"takeover benchmark: 2 engines on PostgreSQL, lease 3 s renewed every 1 s; "
        f"{args.callers} callers per round, ladder raise_priority at {args.target:g} s and "
        f"{args.target + 1:g} s, the owner goes {LEAD:g} s after the last join"
    )
    print("  " + summary(f"takeover after kill -9 ({len(kills)} kills)", taken))
    print("  " + summary("takeover after a clean stop (lease released)", handed))
    print(f"  kill -9 / clean stop (p50): {ratio(taken, handed)}")
    print("  " + summary("lateness of the steps run late, kill -9 rounds", late_kill))
    print("  " + summary("lateness of the steps run late, no takeover", late_calm))
    steps = sum(r.steps for rs in rounds.values() for r in rs)
    expected = 2 * args.callers * sum(len(rs) for rs in rounds.values())
    print(f"  steps run {steps} of {expected}, each caller's priority checked in app_queue")
    failures = [w for rs in rounds.values() for r in rs for w in r.wrong]
    failures += [f"takeover {t:.2f} s (limit {LIMIT:g} s)" for t in taken if t >= LIMIT]
    failures += [f"a step {x:.2f} s late (limit {LIMIT:g} s)" for x in late_kill if x >= LIMIT]
    for failure in failures[:20]:
        print("bench: FAILED:", failure)
    if not failures:
        print("bench: every step exactly once, every takeover within the limit")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--baseline", type=int, default=3, help="clean stops, calm rounds")
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--target", type=float, default=2.0)
    args = parser.parse_args()
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()

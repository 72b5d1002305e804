"""AGI benchmark: command round trip with N concurrent AGI sessions from Asterisk, through
the engine's FastAGI stack and through a minimal FastAGI echo server (the limit), in the same
run; then the engine's memory per active menu.

Round trip: N Local channels (`[ivr-bench-agi]` in dialplans/sandbox/ivr-test.conf) each run
one FastAGI session per round, all rounds on the same calls: the session of round r names
round r+1's server in BENCH_AGI_NEXT. In each round, once all N sessions are connected, each
sends `--commands` times GET VARIABLE UNIQUEID, one every `--interval` seconds (a random
phase per session, so the offered load is N / interval commands/s), and times each round
trip from writing the command to having its reply. Variants, in alternating order:
- engine: the engine's FastAgiServer and AgiChannel.command (ivr/telephony/agi.py), in this
  process;
- limit: a FastAGI server in plain asyncio streams (write the line, read one reply line).
Target: the engine's p99 < 5 ms, no failed session. Both servers share this process, whose
start-up heap is frozen (gc.freeze) so that a full collection of it does not stall one round
at random; the collector's pauses in each round are printed.

Memory: `ivr serve` on the bench flows (tests/bench/flows), line 7002: a menu that plays a
beep and waits up to 60 s for a key. The engine's RSS before, with N callers held in that
menu (none presses) and after they hang up; per menu in KiB. Target: <= MEMORY_LIMIT_KIB.

    python -m tests.bench.agi [--sessions 500] [--commands 50] [--interval 0.1] [--rounds 3]
                              [--menus 500]
"""

import argparse
import asyncio
import functools
import gc
import itertools
import json
import random
import resource
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ivr.config import load_settings
from ivr.sandbox.calls.tester import tester_ami
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.agi import AgiChannel, FastAgiServer
from ivr.telephony.ami import AmiClient
from tests.bench.burst import SETTLE_SECONDS, bench_engine, cpu_seconds, free_port, rss_kib

COMMAND = "GET VARIABLE UNIQUEID"
P99_TARGET_MS = 5.0
MEMORY_LIMIT_KIB = 64.0  # measured ~15 KiB; 4x for allocator granularity (README)
AGI_CONTEXT = "ivr-bench-agi"
HOLD_LINE = "7002"  # tests/bench/flows/lines.yaml: the bench_hold menu
ENGINE_HEALTH = "http://127.0.0.1:8080/health"  # bench_engine's `ivr serve`
CONNECT_LIMIT = 60.0  # seconds for all sessions of a round to connect
CALL_HOLD = 300  # seconds after which a caller hangs itself up, whatever happens

Send = Callable[[str], Awaitable[str]]  # one command line -> its reply line


@dataclass
class Round:
    index: int
    variant: str
    sessions: int
    next_hop: str = ""  # "<port>/<round>" of the next round; "" after the last
    connected: int = 0
    finished: int = 0
    failed: int = 0
    samples: list[float] = field(default_factory=list)  # round trips, seconds
    go: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    bench_cpu: float = 0.0
    asterisk_cpu: float = 0.0
    gc_pauses: list[tuple[int, float]] = field(default_factory=list)  # (generation, seconds)

    @property
    def missing(self) -> int:
        return self.sessions - self.connected

    @property
    def lost(self) -> int:
        return self.failed + self.missing


class GcWatch:
    """Records the bench process's garbage-collector pauses into the round being measured."""

    def __init__(self) -> None:
        self.round: Round | None = None
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.round is not None:
            pause = time.perf_counter() - self._started
            self.round.gc_pauses.append((info["generation"], pause))


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_session(rnd: Round, send: Send, commands: int, interval: float) -> None:
    """One session of a round: wait for all, then `commands` timed round trips, then name
    the next round's server."""
    rnd.connected += 1
    if rnd.connected >= rnd.sessions:
        rnd.go.set()
    try:
        await rnd.go.wait()
        loop = asyncio.get_running_loop()
        await asyncio.sleep(random.uniform(0, interval))
        start = loop.time()
        for k in range(commands):
            sent = time.perf_counter()
            reply = await send(COMMAND)
            rnd.samples.append(time.perf_counter() - sent)
            if not reply.startswith("200 result=1 "):
                raise RuntimeError(f"unexpected reply: {reply!r}")
            if interval:
                await asyncio.sleep(max(0.0, start + (k + 1) * interval - loop.time()))
        if rnd.next_hop:
            await send(f"SET VARIABLE BENCH_AGI_NEXT {rnd.next_hop}")
    except Exception:
        rnd.failed += 1
        raise
    finally:
        rnd.finished += 1
        if rnd.finished >= rnd.sessions:
            rnd.done.set()


# --- the two servers ------------------------------------------------------------------------


async def engine_session(
    rounds: list[Round], commands: int, interval: float, channel: AgiChannel
) -> None:
    async def send(line: str) -> str:
        return (await channel.command(line)).raw

    await run_session(rounds[int(channel.route)], send, commands, interval)


async def no_error_status(channel: AgiChannel, error: BaseException | None) -> None:
    """The bench's error boundary: the failure is counted; the call just ends."""


async def limit_session(
    rounds: list[Round],
    commands: int,
    interval: float,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """The minimal FastAGI server: the head up to its blank line, then line for line."""

    async def send(line: str) -> str:
        writer.write(f"{line}\n".encode())
        return (await reader.readline()).decode().rstrip("\n")

    try:
        head = (await reader.readuntil(b"\n\n")).decode()
        script = next(
            row.split(": ", 1)[1]
            for row in head.split("\n")
            if row.startswith("agi_network_script:")
        )
        await run_session(rounds[int(script)], send, commands, interval)
    except Exception:  # counted by run_session (or a missing session)
        pass
    finally:
        writer.close()


# --- the round-trip measurement ---------------------------------------------------------------


def plan_rounds(pairs: int, sessions: int, ports: dict[str, int]) -> list[Round]:
    """Pairs of rounds in alternating order (engine first, then limit first, ...)."""
    order = [
        variant
        for i in range(pairs)
        for variant in (("engine", "limit") if i % 2 == 0 else ("limit", "engine"))
    ]
    rounds = [Round(i, variant, sessions) for i, variant in enumerate(order)]
    for rnd, following in itertools.pairwise(rounds):
        rnd.next_hop = f"{ports[following.variant]}/{following.index}"
    return rounds


async def originate_all(ami: AmiClient, prefix: str, count: int, first_hop: str) -> None:
    async def originate(i: int) -> None:
        await ami.originate(
            f"Local/s@{AGI_CONTEXT}/n",
            context="ivr-test-caller",
            exten="hold",
            channel_ids=(f"{prefix}{i:05d}-c", f"{prefix}{i:05d}-a"),
            variables={"BENCH_AGI_NEXT": first_hop, "IVR_TEST_HOLD": str(CALL_HOLD)},
            reply_timeout=60,
        )

    await asyncio.gather(*(originate(i) for i in range(count)))


async def hang_up_all(ami: AmiClient, sandbox: Sandbox, pattern: str) -> None:
    """Hang up every channel whose name matches `pattern`, and wait until none is left."""
    try:
        await ami.send({"Action": "Hangup", "Channel": f"/{pattern}/"}, timeout=30)
    except Exception as exc:  # none left is an error reply too
        print(f"bench: hangup {pattern}: {exc}")
    await wait_gone(sandbox, pattern.lstrip("^"))


async def wait_gone(sandbox: Sandbox, prefix: str, limit: float = 60.0) -> None:
    """Wait until Asterisk has no channel named `prefix`... (other benches' may remain)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        out = await asyncio.to_thread(sandbox.cli, "core show channels concise")
        if not any(row.startswith(prefix) for row in out.splitlines()):
            await asyncio.sleep(SETTLE_SECONDS)  # let Asterisk finish tearing threads down
            return
        await asyncio.sleep(1)
    print(f"bench: channels {prefix}... still up after {limit:.0f} s")


async def play_rounds(
    rounds: list[Round], sandbox: Sandbox, commands: int, interval: float, watch: GcWatch
) -> None:
    asterisk_pid = sandbox.pid()
    for rnd in rounds:
        watch.round = None
        try:
            await asyncio.wait_for(rnd.go.wait(), CONNECT_LIMIT)
        except TimeoutError:
            rnd.go.set()  # measure those that came; the others count as lost
        cpu = process_cpu(), cpu_seconds(asterisk_pid)
        watch.round = rnd
        limit = commands * interval + 30
        try:
            await asyncio.wait_for(rnd.done.wait(), limit)
        except TimeoutError:
            rnd.failed += rnd.connected - rnd.finished
            print(f"bench: round {rnd.index} ({rnd.variant}) did not finish in {limit:.0f} s")
            return
        finally:
            watch.round = None
            rnd.bench_cpu = process_cpu() - cpu[0]
            rnd.asterisk_cpu = cpu_seconds(asterisk_pid) - cpu[1]
        if rnd.missing:
            print(f"bench: round {rnd.index}: {rnd.missing} session(s) never connected")
            return


async def round_trips(sessions: int, commands: int, interval: float, pairs: int) -> list[Round]:
    settings = load_settings()
    sandbox = Sandbox(settings.sandbox_dir, settings.queues_file)
    ports = {"engine": free_port(), "limit": free_port()}
    rounds = plan_rounds(pairs, sessions, ports)
    engine = FastAgiServer(
        {
            str(r.index): functools.partial(engine_session, rounds, commands, interval)
            for r in rounds
        },
        on_error=no_error_status,
        command_timeout=10.0,
    )
    await engine.start("127.0.0.1", ports["engine"])
    limit = await asyncio.start_server(
        functools.partial(limit_session, rounds, commands, interval),
        "127.0.0.1",
        ports["limit"],
        backlog=4096,
    )
    ami = tester_ami(settings, events="off")
    prefix = f"bench-agi-{int(time.time())}-"
    watch = GcWatch()
    gc.callbacks.append(watch)
    # The bench's start-up heap (imports, servers) goes out of the collector's sight, so a
    # full collection of it does not stall whichever round it falls in (gc pauses printed).
    gc.freeze()
    try:
        await ami.connect()
        await originate_all(ami, prefix, sessions, f"{ports[rounds[0].variant]}/0")
        await play_rounds(rounds, sandbox, commands, interval, watch)
    finally:
        gc.callbacks.remove(watch)
        await hang_up_all(ami, sandbox, f"^Local/s@{AGI_CONTEXT}-")
        await ami.close()
        limit.close()
        await engine.close(grace=1.0)
        await limit.wait_closed()
    return rounds


# --- memory per active menu -----------------------------------------------------------------


def agi_active() -> int:
    try:
        with urllib.request.urlopen(ENGINE_HEALTH, timeout=2) as reply:
            return int(json.loads(reply.read()).get("agi_active", -1))
    except (OSError, ValueError):
        return -1


async def wait_active(predicate: Callable[[int], bool], limit: float) -> int:
    deadline = time.monotonic() + limit
    while True:
        active = await asyncio.to_thread(agi_active)
        if predicate(active) or time.monotonic() > deadline:
            return active
        await asyncio.sleep(0.5)


@dataclass
class Memory:
    menus: int
    held: int = 0  # menus open in the engine when measured
    rss: dict[str, int] = field(default_factory=dict)  # label -> KiB

    @property
    def per_menu(self) -> float:
        return (self.rss["held"] - self.rss["before"]) / max(self.held, 1)


async def hold_menus(ami: AmiClient, prefix: str, count: int) -> int:
    """Place `count` callers into the bench_hold menu; the menus open once all are in."""
    await asyncio.gather(
        *(
            ami.originate(
                f"Local/{HOLD_LINE}@ivr-bench-engine/n",
                context="ivr-test-caller",
                exten="hold",
                caller_id=f"38044{i:07d}",
                channel_ids=(f"{prefix}{i:05d}-c", f"{prefix}{i:05d}-m"),
                variables={"IVR_TEST_HOLD": str(CALL_HOLD)},
                reply_timeout=60,
            )
            for i in range(count)
        )
    )
    active = await wait_active(lambda n: n >= count, 45.0)
    await asyncio.sleep(1.0)  # the last ones reach GET DATA
    return active


async def memory(menus: int) -> Memory:
    result = Memory(menus)
    pattern = f"^Local/{HOLD_LINE}@ivr-bench-engine-"
    async with bench_engine("bench-agi.db") as bench:
        pid, ami = bench.engine.pid, bench.ami
        try:
            # Warm-up, not counted: the first calls load code and fill caches once.
            await hold_menus(ami, f"bench-agi-warm-{int(time.time())}-", 20)
            await hang_up_all(ami, bench.sandbox, pattern)
            await wait_active(lambda n: n == 0, 20.0)
            result.rss["before"] = rss_kib(pid)
            result.held = await hold_menus(ami, f"bench-agi-mem-{int(time.time())}-", menus)
            result.rss["held"] = rss_kib(pid)
        finally:
            await hang_up_all(ami, bench.sandbox, pattern)
        await wait_active(lambda n: n == 0, 20.0)
        result.rss["after"] = rss_kib(pid)
    return result


# --- report ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def figures(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99, max in ms."""
    values = sorted(samples)
    return (
        percentile(values, 0.5) * 1e3,
        percentile(values, 0.99) * 1e3,
        values[-1] * 1e3 if values else float("nan"),
    )


def gc_summary(rnd: Round) -> str:
    """Collections of generations 0/1/2 in the round, and the longest pause."""
    counts = [sum(1 for g, _ in rnd.gc_pauses if g == gen) for gen in range(3)]
    longest = max((p for _, p in rnd.gc_pauses), default=0.0)
    return f"{'/'.join(map(str, counts))} ({longest * 1e3:.1f})"


def report_round_trips(rounds: list[Round], commands: int, interval: float) -> bool:
    sessions = rounds[0].sessions
    offered = f"{sessions / interval:.0f} commands/s offered" if interval else "closed loop"
    print(
        f"AGI round trip: {sessions} concurrent sessions, {commands} x {COMMAND} each, one "
        f"every {interval * 1e3:.0f} ms ({offered}), {len(rounds) // 2} round(s) of each variant"
    )
    print(
        f"{'round':>5} {'variant':<7} {'lost':>5} {'commands':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'bench cpu us/cmd':>16} {'asterisk cpu us/cmd':>19} "
        f"{'gc pauses (max ms)':>18}"
    )
    for rnd in rounds:
        p50, p99, top = figures(rnd.samples)
        n = max(len(rnd.samples), 1)
        print(
            f"{rnd.index:>5} {rnd.variant:<7} {rnd.lost:>5} {len(rnd.samples):>8} {p50:>7.2f} "
            f"{p99:>7.2f} {top:>7.2f} {rnd.bench_cpu / n * 1e6:>16.0f} "
            f"{rnd.asterisk_cpu / n * 1e6:>19.0f} {gc_summary(rnd):>18}"
        )
    pooled = {
        v: [s for r in rounds if r.variant == v for s in r.samples] for v in ("engine", "limit")
    }
    stats = {v: figures(s) for v, s in pooled.items()}
    for variant, (p50, p99, top) in stats.items():
        print(
            f"{variant:<7} p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {top:.2f} ms "
            f"({len(pooled[variant])} commands)"
        )
    e, lim = stats["engine"], stats["limit"]
    print(f"engine/limit ratio: p50 {e[0] / lim[0]:.2f}, p99 {e[1] / lim[1]:.2f}")
    lost = sum(r.lost for r in rounds)
    expected = sessions * commands * len(rounds)
    met = (
        e[1] < P99_TARGET_MS
        and lost == 0
        and len(pooled["engine"]) + len(pooled["limit"]) == expected
    )
    print(
        f"engine p99 {e[1]:.2f} ms < {P99_TARGET_MS:g} ms, sessions lost {lost}: "
        f"{'met' if met else 'NOT met'}"
    )
    return met


def report_memory(mem: Memory) -> bool:
    rss = mem.rss
    print(
        f"engine memory: {mem.menus} callers held in a menu ({mem.held} open when measured): "
        f"RSS before {rss['before'] / 1024:.1f} MB, held {rss['held'] / 1024:.1f} MB, "
        f"after hangup {rss['after'] / 1024:.1f} MB"
    )
    met = mem.held >= mem.menus and mem.per_menu <= MEMORY_LIMIT_KIB
    print(
        f"RSS per active menu {mem.per_menu:.1f} KiB (limit {MEMORY_LIMIT_KIB:g} KiB): "
        f"{'met' if met else 'NOT met'}"
    )
    return met


async def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    rounds = await round_trips(args.sessions, args.commands, args.interval, args.rounds)
    ok = report_round_trips(rounds, args.commands, args.interval)
    if args.menus:
        ok = report_memory(await memory(args.menus)) and ok
    print(
        f"bench: {'targets met' if ok else 'TARGETS MISSED'} ({time.monotonic() - started:.0f} s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=500, help="concurrent AGI sessions")
    parser.add_argument("--commands", type=int, default=50, help="commands per session and round")
    parser.add_argument(
        "--interval",
        type=float,
        default=0.1,
        help="seconds between a session's commands (0: back to back)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each variant")
    parser.add_argument(
        "--menus", type=int, default=500, help="menus held for the memory part (0: skip it)"
    )
    raise SystemExit(asyncio.run(main(parser.parse_args())))

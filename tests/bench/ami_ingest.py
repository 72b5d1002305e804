"""AMI event ingest benchmark: how many events a second the engine's AMI path takes in,
against reading the same bytes raw from the same kind of socket, in the same run.

A fake AMI server (its own process, loopback TCP) sends a banner, accepts Login, then
streams a burst recorded from the sandbox's Asterisk on the engine's AMI session
(tests/fixtures/ami/burst.ami.gz, made by `python -m tests.bench.ami_record`), repeated
until --events events, and a last `Event: BenchEnd`. Two readers, alternately, --repeats
times each:

- engine: the real AmiClient (ping far off: the fake server does not answer Ping) with
  the real AmiEvents registered for its names() as ivr/app.py does, and the real
  subscribers: AmiEventTranslator, WaitingMonitor, TalkMonitor and AgentBoard (the
  callback dialer and the fallback sweep, which need the database and AGI, are left
  out); their domain events go to a Notifier with the WaitingMonitor on it, as in the
  app. Only the AMI action sink is a stub: it counts what the monitors would ask
  Asterisk (nothing, for this burst) and does nothing.
- limit: a plain asyncio Protocol that counts CRLFCRLF in what it reads.

events/s = events / (the server's first byte after Login -> BenchEnd dispatched or
counted). Prints the median and the spread of both, their ratio, and the target
(engine >= 20 000 events/s): met / NOT met. No Asterisk needed.

    python -m tests.bench.ami_ingest [--events 200000] [--repeats 5] [--profile]
"""

import argparse
import asyncio
import cProfile
import gzip
import io
import multiprocessing
import pstats
import socket
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ivr.clock import LoopClock
from ivr.config import PROJECT_ROOT
from ivr.events.model import Event
from ivr.events.notifier import Notifier
from ivr.monitors.agents import AgentBoard
from ivr.monitors.talk import TalkMonitor
from ivr.monitors.waiting import WaitingMonitor
from ivr.queues.model import load_queues
from ivr.tasks import TaskSet
from ivr.telephony.ami import AmiClient
from ivr.telephony.ami_events import AmiEvent, AmiEvents, parse
from ivr.telephony.ami_message import parse_message
from ivr.telephony.ami_translator import AmiEventTranslator
from tests.bench.ami_record import FIXTURE

TARGET = 20_000.0  # events/s
END = b"\r\n\r\n"
SENTINEL = b"Event: BenchEnd\r\nPrivilege: system,all\r\n\r\n"
BANNER = b"Asterisk Call Manager/9.0.0\r\n"
QUEUES = PROJECT_ROOT / "queues.yaml"
RUN_LIMIT = 120.0  # s: one replay taking longer is a failure


def burst_messages(path: Path = FIXTURE) -> list[bytes]:
    """The recorded events, each with its CRLFCRLF."""
    return [m + END for m in gzip.decompress(path.read_bytes()).split(END)[:-1]]


def replay_stream(messages: list[bytes], events: int) -> bytes:
    """`events` messages (the burst repeated, the last round cut) and the sentinel."""
    rounds, rest = divmod(events, len(messages))
    one = b"".join(messages)
    return one * rounds + b"".join(messages[:rest]) + SENTINEL


# --- the fake AMI server (its own process) -------------------------------------------------


def serve(listener: socket.socket, payload: bytes, sessions: int, stamps: Connection) -> None:
    """Per session: banner, Login -> Success, the payload; then wait for the client to
    close. Sends the time of the first byte after Login to `stamps`."""
    for _ in range(sessions):
        conn, _ = listener.accept()
        with conn:
            conn.sendall(BANNER)
            request = b""
            while END not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            action_id = b""
            for line in request.split(b"\r\n"):
                if line.lower().startswith(b"actionid: "):
                    action_id = line[len(b"actionid: ") :]
            response = (
                b"Response: Success\r\nActionID: "
                + action_id
                + b"\r\nMessage: Authentication accepted\r\n\r\n"
            )
            stamps.send(time.monotonic())
            conn.sendall(response + payload)
            while conn.recv(65536):
                pass


@dataclass
class Server:
    port: int
    stamps: Connection
    process: Any


def start_server(payload: bytes, sessions: int) -> Server:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(
        target=serve, args=(listener, payload, sessions, send), daemon=True
    )
    process.start()
    listener.close()
    return Server(port, receive, process)


# --- the limit: raw reads ----------------------------------------------------------------


class RawCounter(asyncio.Protocol):
    """Logs in, then counts message ends; done after `messages` of them."""

    def __init__(self, messages: int) -> None:
        self._left = messages
        self._tail = b""
        self.done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        window = self._tail + data
        self._left -= window.count(END)
        self._tail = window[-3:]
        if self._left <= 0 and not self.done.done():
            self.done.set_result(time.monotonic())


async def raw_run(port: int, events: int) -> float:
    """Seconds to the last message end (the Login response, the events, the sentinel)."""
    loop = asyncio.get_running_loop()
    transport, reader = await loop.create_connection(
        lambda: RawCounter(events + 2), "127.0.0.1", port
    )
    try:
        return await asyncio.wait_for(reader.done, RUN_LIMIT)
    finally:
        transport.close()


# --- the engine's path -------------------------------------------------------------------


class ActionSink:
    """Stands for QueueActions: counts what the monitors would ask Asterisk."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def action(*args: Any, **kwargs: Any) -> Any:
            self.asked[name] += 1
            return None

        return action


@dataclass
class EngineSide:
    """The AMI events and the subscribers ivr/app.py wires (those cheap to build)."""

    events: AmiEvents
    actions: ActionSink
    tasks: TaskSet
    closers: list[Callable[[], None]]
    typed: Counter[str] = field(default_factory=Counter)
    published: Counter[str] = field(default_factory=Counter)


def engine_side() -> EngineSide:
    queues_config = load_queues(QUEUES)
    queues = lambda: queues_config  # noqa: E731
    clock = LoopClock()
    notifier = Notifier()
    actions = ActionSink()
    tasks = TaskSet("bench")

    async def no_sound(name: str, language: str, values: Any) -> None:
        return None

    agents = AgentBoard(queues, actions, notifier.publish, clock)
    waiting = WaitingMonitor(queues, actions, no_sound, notifier.publish, tasks, clock)
    notifier.subscribe(waiting.on_event)
    talk = TalkMonitor(queues, actions, notifier.publish, tasks, clock)
    events = AmiEvents()
    translator = AmiEventTranslator(notifier, clock)
    for subscriber in (translator, waiting, talk, agents):
        events.subscribe(subscriber.AMI_EVENTS, subscriber.on_ami)
    side = EngineSide(events, actions, tasks, [waiting.close, talk.close])

    def published(event: Event) -> None:
        side.published[type(event).__name__] += 1

    def typed(event: AmiEvent) -> None:
        side.typed[type(event).__name__] += 1

    notifier.subscribe(published)
    events.subscribe((AmiEvent,), typed)
    return side


async def engine_run(port: int, side: EngineSide) -> float:
    """Seconds to the sentinel's dispatch."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[float] = loop.create_future()

    def end(_: Any) -> None:
        if not finished.done():
            finished.set_result(time.monotonic())

    ami = AmiClient("127.0.0.1", port, "ivr-engine", "bench", ping_interval=3600.0)
    for name in side.events.names():  # as ivr/app.py does
        ami.on_event(name, side.events)
    ami.on_event("FullyBooted", lambda _: None)
    ami.on_event("BenchEnd", end)
    try:
        await ami.connect()
        return await asyncio.wait_for(finished, RUN_LIMIT)
    finally:
        await ami.close()
        for close in side.closers:
            close()
        await side.tasks.cancel_all()


def expected_typed(messages: list[bytes], events: int) -> int:
    """How many typed events the engine should hand its subscribers."""
    per_round, last = 0, 0
    rounds, rest = divmod(events, len(messages))
    for i, raw in enumerate(messages):
        message = parse_message(raw.decode("utf-8", "replace").strip("\r\n"))
        if message is not None and parse(message) is not None:
            per_round += 1
            last += i < rest
    return per_round * rounds + last


# --- the run -------------------------------------------------------------------------------


def spread(rates: list[float]) -> str:
    low, high = min(rates), max(rates)
    return f"median {statistics.median(rates):,.0f} events/s (min {low:,.0f}, max {high:,.0f})"


def first_byte(server: Server) -> float:
    if not server.stamps.poll(5.0):
        raise SystemExit("bench: the fake AMI server sent no stamp")
    return float(server.stamps.recv())


def print_profile(profile: cProfile.Profile, lines: int = 25) -> None:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(lines)
    print(out.getvalue())


async def run(events: int, repeats: int, profile: bool) -> int:
    messages = burst_messages()
    payload = replay_stream(messages, events)
    expected = expected_typed(messages, events)
    server = start_server(payload, repeats * 2 + int(profile))
    raw_rates: list[float] = []
    engine_rates: list[float] = []
    raw_cpu: list[float] = []  # events per CPU second of this process: the load on a
    engine_cpu: list[float] = []  # shared machine slows the wall clock, hardly this
    failures: list[str] = []
    side = engine_side()
    try:
        for _ in range(repeats):
            cpu = time.process_time()
            end = await raw_run(server.port, events)
            raw_cpu.append(events / (time.process_time() - cpu))
            raw_rates.append(events / (end - first_byte(server)))
            side = engine_side()
            cpu = time.process_time()
            end = await engine_run(server.port, side)
            engine_cpu.append(events / (time.process_time() - cpu))
            engine_rates.append(events / (end - first_byte(server)))
            handed = sum(side.typed.values())
            if handed != expected:
                failures.append(f"{handed} typed events handed to subscribers, not {expected}")
            if side.actions.asked:
                failures.append(f"the monitors asked Asterisk: {dict(side.actions.asked)}")
        if profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            await engine_run(server.port, engine_side())
            profiler.disable()
            print_profile(profiler)
    finally:
        server.process.join(10)
        if server.process.is_alive():
            server.process.terminate()
    print(
        f"AMI ingest benchmark: {events:,} events a run ({len(messages)} recorded events "
        f"repeated, {len(payload) / events:.0f} bytes an event), {repeats} runs each, "
        "loopback TCP from a fake AMI server (indicative: a shared machine)"
    )
    print(f"  limit  (raw reads, CRLFCRLF counted):     {spread(raw_rates)}")
    print(f"  engine (AmiClient, AmiEvents, monitors): {spread(engine_rates)}")
    print(f"  per CPU second of the reader:  limit {spread(raw_cpu)}")
    print(f"                                 engine {spread(engine_cpu)}")
    print(
        f"  engine per run: {expected:,} typed events to subscribers, domain events "
        f"published {dict(side.published.most_common())}, AMI actions asked "
        f"{sum(side.actions.asked.values())}"
    )
    engine, limit = statistics.median(engine_rates), statistics.median(raw_rates)
    print(
        f"ratio engine/limit: {engine / limit:.3f} "
        f"(per CPU second: {statistics.median(engine_cpu) / statistics.median(raw_cpu):.3f})"
    )
    met = engine >= TARGET
    print(f"target: engine >= {TARGET:,.0f} events/s: {'met' if met else 'NOT met'}")
    for failure in failures:
        print("bench: FAILED:", failure)
    return 0 if met and not failures else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one more engine run")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.events, args.repeats, args.profile)))

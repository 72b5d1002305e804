"""The `inbound` route replayed against AGI sessions recorded from the sandbox's Asterisk.

Trace format: `> ` lines are what Asterisk sent, `< ` lines what the engine answered.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from ivr.calls.inbound import InboundCall
from ivr.calls.simulate import TextSpeech
from ivr.config import PROJECT_ROOT
from ivr.events.model import CallRouted, CallStarted, Event
from ivr.events.notifier import Notifier
from ivr.flow.context import FlowServices
from ivr.flow.loader import load_library
from ivr.queues.model import load_queues
from ivr.telephony.agi import FastAgiServer
from tests.unit.fakes import NobodyKnown

TRACES = PROJECT_ROOT / "tests" / "fixtures" / "agi"


SERVICES = FlowServices(NobodyKnown(), TextSpeech(), lambda event: None, lambda: datetime.now(UTC))


def load_trace(path: Path) -> tuple[bytes, list[tuple[str, str]]]:
    """The header block, then (engine command, Asterisk reply) pairs."""
    lines = path.read_text(encoding="utf-8").splitlines()
    end = lines.index("> ")
    headers = "".join(line[2:] + "\n" for line in lines[: end + 1]).encode()
    rest = lines[end + 1 :]
    pairs = [(rest[i][2:], rest[i + 1][2:]) for i in range(0, len(rest), 2)]
    assert all(
        rest[i].startswith("< ") and rest[i + 1].startswith("> ") for i in range(0, len(rest), 2)
    )
    return headers, pairs


async def replay(path: Path) -> list[Event]:
    events: list[Event] = []
    notifier = Notifier()
    notifier.subscribe(events.append)
    flows = load_library(TRACES / "flows")  # the flows the traces were recorded with
    queues = load_queues(PROJECT_ROOT / "queues.yaml")
    server = FastAgiServer(
        {"inbound": InboundCall(lambda: flows, lambda: queues, notifier, SERVICES)}
    )
    listening = await server.start("127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    headers, pairs = load_trace(path)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(headers)
    for expected, reply in pairs:
        command = await asyncio.wait_for(reader.readline(), 5)
        assert command.decode().rstrip("\n") == expected
        writer.write(reply.encode() + b"\n")
    assert await asyncio.wait_for(reader.read(), 5) == b"", "the engine must close the session"
    writer.close()
    await server.close()
    return events


async def test_new_connection_call_replayed() -> None:
    events = await replay(TRACES / "inbound_new_connection.trace")

    started, routed = events
    assert isinstance(started, CallStarted) and isinstance(routed, CallRouted)
    assert (started.line, started.caller) == ("5552000", "+380441234567")
    assert started.call_id == routed.call_id
    assert started.call_id.startswith("ivrtest-")  # the channel's UNIQUEID
    assert (routed.queue, routed.caller_class, routed.priority) == (
        "connections",
        "new_connection",
        10,
    )
    assert routed.menu_path == ("welcome:1",)
    assert routed.keys == ("1",)  # journalled for `ivr flow replay`


async def test_invalid_key_retry_then_tv_replayed() -> None:
    events = await replay(TRACES / "inbound_retry_then_tv.trace")

    routed = events[-1]
    assert isinstance(routed, CallRouted)
    assert routed.menu_path == ("welcome:2", "support:2")
    assert (routed.queue, routed.priority) == ("tv", 5)
    assert routed.keys == ("9", "2", "2")  # every request's keys, the wrong one too


async def test_a_retried_menu_keeps_the_calls_start(tmp_path: Path) -> None:
    """The dialplan's one more try after an engine died passes IVR_START as the 2nd argument:
    the live engine journals the call from its real start, not from the retry."""
    trace = (TRACES / "inbound_new_connection.trace").read_text(encoding="utf-8")
    retried = tmp_path / "retried.trace"
    retried.write_text(
        trace.replace(
            "> agi_arg_1: 5552000\n", "> agi_arg_1: 5552000\n> agi_arg_2: 1796645521.630194\n"
        ),
        encoding="utf-8",
    )

    started, routed = await replay(retried)

    assert isinstance(started, CallStarted) and isinstance(routed, CallRouted)
    assert started.at == datetime(2026, 12, 7, 12, 12, 1, 630194, tzinfo=UTC)
    assert routed.queue == "connections"


async def test_a_bad_start_argument_starts_the_call_now(tmp_path: Path) -> None:
    trace = (TRACES / "inbound_new_connection.trace").read_text(encoding="utf-8")
    bad = tmp_path / "bad.trace"
    bad.write_text(
        trace.replace("> agi_arg_1: 5552000\n", "> agi_arg_1: 5552000\n> agi_arg_2: soon\n"),
        encoding="utf-8",
    )
    before = datetime.now(UTC)

    started, _ = await replay(bad)

    assert isinstance(started, CallStarted) and started.at >= before

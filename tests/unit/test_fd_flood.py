"""`ivr serve` under `ulimit -n 768`: a flood of 1000 half-open HTTP connections fills HTTP's
share of the file descriptors only, and a FastAGI call is still accepted and served (the
recorded session of tests/fixtures/agi/). Before the budget, the same flood made libuv
accept and drop the FastAGI connection."""

import asyncio
import re
from pathlib import Path

import pytest

from tests.unit.calls.test_inbound_replay import TRACES, load_trace
from tests.unit.engine_process import EngineProcess, engine_process

NOFILE = 768
FLOOD = 1000
HALF_HEAD = b"GET /api/calls HTTP/1.1\r\nHost: 127.0.0.1\r\n"
BUDGET_LOG = re.compile(r"HTTP gets (\d+) connections")


async def serve_recorded_call(port: int) -> list[str]:
    """Play Asterisk's side of a recorded call; return the engine's commands."""
    headers, pairs = load_trace(TRACES / "inbound_new_connection.trace")
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    writer.write(headers)
    commands = []
    for _, reply in pairs:
        commands.append((await asyncio.wait_for(reader.readline(), 5)).decode().rstrip("\n"))
        writer.write(reply.encode() + b"\n")
    assert await asyncio.wait_for(reader.read(), 5) == b"", "the engine must close the session"
    writer.close()
    return commands


async def flood(engine: EngineProcess) -> tuple[int, int, list[asyncio.StreamWriter]]:
    """Open FLOOD connections with half-sent heads; (held open, refused, writers)."""
    opened = []
    for _ in range(FLOOD):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", engine.http_port), 5
        )
        writer.write(HALF_HEAD)
        opened.append((reader, writer))
    await asyncio.sleep(0.5)  # the refusals are written and closed at once
    refused = 0
    for reader, _ in opened:
        try:
            answer = await asyncio.wait_for(reader.read(4096), 0.01)
        except TimeoutError:
            continue  # still open: held
        except ConnectionResetError:  # closed with our half head unread
            answer = b""
        assert answer.startswith(b"HTTP/1.1 503") or answer == b""
        refused += 1
    return FLOOD - refused, refused, [writer for _, writer in opened]


async def test_a_call_is_served_while_http_is_flooded(tmp_path: Path) -> None:
    settings = {"IVR_HTTP_HEADER_TIMEOUT": "60", "IVR_HTTP_KEEPALIVE_TIMEOUT": "60"}
    with engine_process(tmp_path, NOFILE, settings) as engine:
        found = BUDGET_LOG.search(engine.log())
        assert found is not None, engine.log()
        http_cap = int(found[1])
        assert 0 < http_cap < NOFILE // 2  # half the limit is kept for calls
        held, refused, writers = await flood(engine)
        try:
            assert (held, refused) == (http_cap, FLOOD - http_cap)
            expected = [
                command for command, _ in load_trace(TRACES / "inbound_new_connection.trace")[1]
            ]
            assert await serve_recorded_call(engine.agi_port) == expected
        finally:
            for writer in writers:
                writer.close()
        assert "Too many open files" not in engine.log()


@pytest.fixture(autouse=True)
def _enough_descriptors_here() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FLOOD + 100:
        if hard != resource.RLIM_INFINITY and hard < FLOOD + 100:
            pytest.skip(f"the test process needs {FLOOD + 100} open files (hard limit {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (FLOOD + 100, hard))

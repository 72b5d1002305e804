"""The engine's HTTP server on a loopback port, with its limits scaled down: late request
heads, idle keep-alive connections, slow and large bodies, the connection cap and the
live-stream cap. Raw sockets play the slow or hostile clients."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.app import Engine
from ivr.config import load_settings
from ivr.storage.db import migrate
from ivr.web.limits import RETRY_AFTER
from ivr.web.server import GuardedSite
from ivr.web.tokens import Principal, token_entry

TOKEN = "supervisor-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AUTH_LINE = f"Authorization: Bearer {TOKEN}\r\n".encode()
HALF_HEAD = (
    b"GET /api/openapi.yaml HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: never finished
)
FULL_HEAD = HALF_HEAD + b"\r\n"

Serve = Callable[..., Awaitable[tuple[Engine, int]]]
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """serve(http_header_timeout=..., ...) -> (engine, port): the engine's web app on
    127.0.0.1 under those settings (nothing else of the engine is started)."""
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    engines: list[Engine] = []

    async def start(**limits: Any) -> tuple[Engine, int]:
        settings = replace(
            load_settings(env={}),
            database_url=url,
            var_dir=str(tmp_path / "var"),
            api_tokens=token_entry(Principal("supervisor"), TOKEN),
            **limits,
        )
        engine = Engine(settings)
        engines.append(engine)
        site: GuardedSite = await engine.start_http("127.0.0.1", 0)
        return engine, site.port

    yield start
    for engine in engines:
        await engine.stop_http()
        await engine.tasks.cancel_all()
        engine.db.dispose()


async def connect(port: int, data: bytes = b"") -> Streams:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def read_until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection (fails after `within` s)."""
    received = b""
    async with asyncio.timeout(within):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionError:  # reset, or our write after its close
                return received
            if not chunk:
                return received
            received += chunk


async def still_open(reader: asyncio.StreamReader, for_seconds: float) -> bool:
    try:
        async with asyncio.timeout(for_seconds):
            return await reader.read(1) != b""
    except TimeoutError:
        return True


async def test_a_half_sent_head_is_closed_at_the_header_timeout(serve: Serve) -> None:
    engine, port = await serve(http_header_timeout=0.4, http_keepalive_timeout=30.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    half, half_writer = await connect(port, HALF_HEAD)  # writers kept: dropped, they close
    silent, silent_writer = await connect(port)
    dripping, drip = await connect(port, b"G")
    for byte in b"ET /api/openapi.yaml HTTP/1.1\r\n":  # a byte every 30 ms: no extension
        try:
            drip.write(bytes([byte]))
        except ConnectionError:
            break
        await asyncio.sleep(0.03)
    for reader in (half, silent, dripping):
        assert await read_until_closed(reader, within=2.0) == b""
        assert 0.35 <= loop.time() - start <= 1.5
    assert engine.http_guard is not None and engine.http_guard.late_heads == 3
    for writer in (half_writer, silent_writer, drip):
        writer.close()


async def test_after_its_head_a_connection_idles_until_the_keepalive_timeout(
    serve: Serve,
) -> None:
    _, port = await serve(http_header_timeout=0.3, http_keepalive_timeout=1.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    reader, writer = await connect(port, FULL_HEAD)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
    assert head.startswith(b"HTTP/1.1 200")
    assert await still_open(reader, 0.5)  # past the header timeout: the head had come
    rest = await read_until_closed(reader, within=2.0)  # body, then closed when idle
    assert b"title: ivr engine HTTP API" in rest
    assert 0.95 <= loop.time() - start <= 2.0
    writer.close()


async def test_slow_and_oversized_bodies_are_refused(serve: Serve) -> None:
    _, port = await serve(http_body_timeout=0.4, http_max_body_bytes=1000)
    post = b"POST /api/flows/validate HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH_LINE
    loop = asyncio.get_running_loop()
    start = loop.time()
    slow, writer = await connect(port, post + b"Content-Length: 100\r\n\r\n" + b"x" * 10)
    answer = await read_until_closed(slow, within=4.0)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"body: not received within 0.4 s" in answer
    assert 0.35 <= loop.time() - start <= 3.5  # the timeout plus at most the lingering time
    writer.close()
    large, writer = await connect(port, post + b"Content-Length: 1001\r\n\r\n")
    answer = await read_until_closed(large, within=4.0)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"body: at most 1000 bytes" in answer
    chunked = post + b"Transfer-Encoding: chunked\r\n\r\n" + b"7d0\r\n" + b"x" * 2000 + b"\r\n"
    writer.close()
    large_chunked, writer = await connect(port, chunked + b"0\r\n\r\n")
    answer = await read_until_closed(large_chunked, within=4.0)
    assert answer.startswith(b"HTTP/1.1 413")
    writer.close()


async def test_over_the_cap_connections_are_refused_while_one_within_works(
    serve: Serve,
) -> None:
    engine, port = await serve(
        http_header_timeout=30.0, http_keepalive_timeout=30.0, http_max_connections=5
    )
    guard = engine.http_guard
    assert guard is not None
    url = f"http://127.0.0.1:{port}/api/calls"
    connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection, reused
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(url, headers=AUTH) as response:
            assert response.status == 200
            assert (await response.json()) == {"calls": []}
        held = [await connect(port, HALF_HEAD) for _ in range(4)]
        await _eventually(lambda: guard.active == 5)
        for _ in range(10):
            reader, writer = await connect(port, HALF_HEAD)
            answer = await read_until_closed(reader, within=2.0)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 503")
            assert f"Retry-After: {RETRY_AFTER}".encode() in answer
        assert guard.refused == 10
        async with session.get(url, headers=AUTH) as response:  # the same connection
            assert response.status == 200
        async with session.get(url) as response:
            assert response.status == 401  # within the cap the API still checks tokens
        assert guard.active == 5
        for _, writer in held:
            writer.close()
        await _eventually(lambda: guard.active == 1)
        reader, writer = await connect(
            port, b"GET /api/openapi.yaml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert (await read_until_closed(reader, within=2.0)).startswith(b"HTTP/1.1 200")
        writer.close()


async def test_live_streams_over_their_cap_get_503(serve: Serve) -> None:
    engine, port = await serve(http_max_streams=1)
    url = f"http://127.0.0.1:{port}/api/live"
    async with aiohttp.ClientSession() as first, aiohttp.ClientSession() as second:
        async with first.get(url) as stream:
            assert stream.status == 200
            assert (await asyncio.wait_for(stream.content.readline(), 3.0)).startswith(b"event")
            assert engine.streams.active == 1
            async with second.get(url) as refused:
                assert refused.status == 503
                assert refused.headers["Retry-After"] == str(RETRY_AFTER)
                assert "all 1 live streams are in use" in (await refused.json())["error"]
        await _eventually(lambda: engine.streams.active == 0)
        async with second.get(url) as stream:
            assert stream.status == 200


async def _eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "still not true"
        await asyncio.sleep(0.01)

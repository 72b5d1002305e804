"""The API and the database: concurrent writers never get a 500 ("database is locked"), and a
database that does not answer gets a quick 503, never a hung request."""

import asyncio
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.events.model import AgentChanged
from ivr.storage.agent_log import write_agent_events
from ivr.storage.gate import StorageGate
from ivr.storage.health import DatabaseState
from tests.storage.proxied import ProxiedPg, proxied_pg
from tests.web.kit import SUPERVISOR, T0, Clock, Kit, auth, copy_flows

__all__ = ["proxied_pg"]

OUTAGES = 10
ENDS = 300  # POST /api/outages/{id}/end, all at once


async def test_concurrent_outage_ends_and_writers_never_fail(kit: Kit) -> None:
    outages = [
        kit.directory.post_outage(f"City{n}", "", "Cable cut", starts_at=T0).id
        for n in range(OUTAGES)
    ]
    stop, agent_errors, agent_writes = threading.Event(), [], 0

    def agent_log() -> None:  # the engine's agent log writing meanwhile (read, then write)
        nonlocal agent_writes
        while not stop.is_set() and agent_writes < 2000:
            at = T0 + timedelta(seconds=agent_writes)
            try:
                write_agent_events(kit.sessions, [AgentChanged("anna", "internet", "ready", at=at)])
                agent_writes += 1
            except Exception as exc:  # counted, shown by the assert
                agent_errors.append(exc)

    writer = threading.Thread(target=agent_log)
    writer.start()
    try:
        async with TestClient(TestServer(kit.app())) as client:

            async def end(outage: int) -> int:
                path = f"/api/outages/{outage}/end"
                async with client.post(path, headers=auth(SUPERVISOR)) as response:
                    return response.status

            statuses = await asyncio.gather(*(end(outages[n % OUTAGES]) for n in range(ENDS)))
    finally:
        stop.set()
        writer.join(30)

    assert {status: statuses.count(status) for status in set(statuses)} == {200: ENDS}
    assert agent_errors == []
    assert agent_writes > 0
    board = kit.desk.outages(kit.clock.now())
    assert [o.ended_at is not None for o in board] == [True] * OUTAGES


@pytest.mark.postgres
async def test_a_silent_or_refusing_database_gets_a_quick_503(
    proxied_pg: ProxiedPg, tmp_path: Path
) -> None:
    kit = Kit(proxied_pg.sessions, copy_flows(tmp_path), Clock())
    state = DatabaseState()
    kit.storage = StorageGate("api", 2, 0.5, state)
    outage = kit.directory.post_outage("Kyiv", "", "Cable cut", starts_at=T0).id
    path = f"/api/outages/{outage}/end"
    async with TestClient(TestServer(kit.app())) as client:
        for fault in (proxied_pg.proxy.freeze, proxied_pg.proxy.refuse):
            fault()
            for _ in range(10):
                started = time.monotonic()
                async with client.post(path, headers=auth(SUPERVISOR)) as response:
                    assert response.status == 503
                    assert await response.json() == {
                        "error": "database unavailable, try again later"
                    }
                assert time.monotonic() - started < 1.0
            assert not state.up

        proxied_pg.proxy.forward()
        started = time.monotonic()
        while True:
            async with client.post(path, headers=auth(SUPERVISOR)) as response:
                if response.status == 200:
                    break
                assert response.status == 503
            assert time.monotonic() - started < 5
            await asyncio.sleep(0.1)
    assert state.up
    assert kit.desk.outage(outage, kit.clock.now()).ended_at is not None  # type: ignore[union-attr]

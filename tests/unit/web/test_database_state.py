"""The engine as ivr/app.py wires it, on a database it cannot open: calls go on (unknown
caller, no outage), the API answers 503, /health and /metrics say the database is down;
the probe sees it answer again."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.app import Engine
from ivr.config import load_settings
from ivr.storage.db import migrate
from ivr.web.tokens import Principal, token_entry

TOKEN = "supervisor-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    (tmp_path / "ivr.db").mkdir()  # a directory where the database file should be
    settings = replace(
        load_settings(env={}),
        database_url=f"sqlite:///{tmp_path / 'ivr.db'}",
        var_dir=str(tmp_path / "var"),
        api_tokens=token_entry(Principal("supervisor"), TOKEN),
        db_probe_interval=0.05,
    )
    engine = Engine(settings)
    yield engine
    await engine.tasks.cancel_all()
    engine.database.close()
    engine.db.dispose()


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[Client]:
    async with TestClient(TestServer(engine.web_app(engine.tokens))) as client:
        yield client


async def test_a_database_that_cannot_be_opened(engine: Engine, client: Client) -> None:
    health = await (await client.get("/health")).json()
    assert health["database"]["database"] == "ok"  # nothing has asked it yet
    metrics = await (await client.get("/metrics")).text()
    assert "ivr_database_up 1.0" in metrics

    directory = engine.services.directory  # the call path's
    assert await directory.subscriber_by_phone("380441234567") is None
    assert await directory.active_outage("Kyiv", "", datetime.now(UTC)) is None

    body = {"area": "Kyiv", "message": "Cable cut"}
    response = await client.post("/api/outages", json=body, headers=AUTH)
    assert response.status == 503
    assert await response.json() == {"error": "database unavailable, try again later"}
    response = await client.post("/api/outages/1/end", headers=AUTH)
    assert response.status == 503

    health = await (await client.get("/health")).json()
    assert health["database"]["database"] == "unavailable"
    assert health["database"]["failures"] == 4
    assert "unable to open database file" in health["database"]["last_error"]
    metrics = await (await client.get("/metrics")).text()
    assert "ivr_database_up 0.0" in metrics
    assert "ivr_database_failures_total 4.0" in metrics
    assert "ivr_database_last_error_age_seconds" in metrics


async def test_the_probe_sees_the_database_answer_again(engine: Engine, tmp_path: Path) -> None:
    engine.tasks.spawn(engine.database.probe.run(), name="database-probe")
    for _ in range(100):
        await asyncio.sleep(0.02)
        if not engine.database.state.up:
            break
    assert engine.database.health()["database"] == "unavailable"

    (tmp_path / "ivr.db").rmdir()  # the database can be created now
    migrate(engine.settings.database_url)
    for _ in range(100):
        await asyncio.sleep(0.02)
        if engine.database.state.up:
            break
    assert engine.database.health()["database"] == "ok"

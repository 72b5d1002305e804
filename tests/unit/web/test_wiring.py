"""The engine's HTTP app as ivr/app.py wires it (no Asterisk): every route module is
mounted, and the engine's events reach the live board and the screen pop."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.app import Engine
from ivr.config import ConfigError, load_settings
from ivr.events.model import CallAnswered, CallRouted, CallStarted
from ivr.monitors.live_json import floor_json
from ivr.monitors.waiting import WaitingCaller
from ivr.storage.db import make_session_factory, migrate
from ivr.storage.live_state import LiveStateStore
from ivr.storage.ownership import LeaseStore
from ivr.web.tokens import Principal, token_entry

TOKEN = "agent-1001-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def new_engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    tokens = token_entry(Principal("agent", "1001"), TOKEN)  # as IVR_API_TOKENS holds it
    settings = load_settings(env={})
    return Engine(
        replace(settings, database_url=url, var_dir=str(tmp_path / "var"), api_tokens=tokens)
    )


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = new_engine(tmp_path)
    await engine.ownership.renew_once()  # the lease, as start() takes it: the board is local
    assert engine.acting()
    yield engine
    await engine.tasks.cancel_all()
    engine.db.dispose()


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = engine.web_app(engine.tokens)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_every_route_module_is_mounted(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path, content_type in (
        ("/api/dashboard", "application/json"),  # live
        ("/api/queues", "application/json"),  # queues, built by the live board
        ("/api/agents", "application/json"),  # queues
        ("/api/lines", "application/json"),  # the REST API
        ("/metrics", "text/plain"),  # metrics
        ("/dashboard", "text/html"),  # pages
    ):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.headers["Content-Type"].startswith(content_type), path


async def test_the_board_shows_the_shipped_configuration(
    client: TestClient[web.Request, web.Application], engine: Engine
) -> None:
    snapshot = await (await client.get("/api/dashboard")).json()
    assert [q["key"] for q in snapshot["queues"]] == list(engine.queues.queues)
    assert {a["id"] for a in snapshot["agents"]} == set(engine.queues.agents)
    assert [line["key"] for line in snapshot["lines"]][: len(engine.flows.lines)] == list(
        engine.flows.lines
    )
    queues = await (await client.get("/api/queues")).json()
    assert set(queues["queues"]) == set(engine.queues.queues)


async def test_an_answered_call_pops_on_the_agents_card(
    client: TestClient[web.Request, web.Application], engine: Engine
) -> None:
    line = next(iter(engine.flows.lines))
    engine.notifier.publish(
        CallRouted("c1", line, "0501234567", "internet", "unknown", 0, ("main",))
    )
    engine.notifier.publish(CallAnswered("c1", "internet", "1001", "Local/1001@x-1", 2.0, True))
    for _ in range(300):
        body = await (await client.get("/api/agents/1001/call", headers=AUTH)).json()
        if body["call"] is not None:
            break
        await asyncio.sleep(0.01)
    assert body["call"]["call_id"] == "c1"
    assert body["call"]["line"] == line
    assert body["call"]["line_city"] == engine.flows.lines[line].city


async def test_health_and_metrics_show_the_dead_letters(
    client: TestClient[web.Request, web.Application], engine: Engine
) -> None:
    """A call id no Asterisk sends (over the limit) is set aside; /health names the error
    and /metrics counts it, per writer; the journal goes on."""
    run = engine.tasks.spawn(engine.journal.run(), name="journal")
    engine.notifier.publish(CallStarted("x" * 3000, "5551000", "380441234567", "PJSIP/t-1"))
    engine.notifier.publish(CallStarted("ok-1", "5551000", "380441234567", "PJSIP/t-2"))
    await asyncio.wait_for(engine.journal.flush(), 10)

    health = await (await client.get("/health")).json()
    journal = health["storage"]["journal"]
    assert (journal["backlog"], journal["dead_letters"]) == (0, 1)
    assert journal["last_dead_letter_error"] == "TooLong: call_id: 3000 characters, at most 200"
    assert journal["last_dead_letter_at"] is not None
    assert health["storage"]["reports"]["dead_letters"] == 0
    assert set(health["storage"]) == {"journal", "reports", "agent_log"}

    metrics = await (await client.get("/metrics")).text()
    assert 'ivr_storage_dead_letters_total{writer="journal"} 1.0' in metrics
    assert 'ivr_storage_dead_letters_total{writer="agent_log"} 0.0' in metrics
    assert 'ivr_storage_backlog{writer="journal"} 0.0' in metrics
    assert [call.call_id for call in engine.repository.recent()] == ["ok-1"]
    await engine.journal.stop()
    assert run.done()


def test_the_engine_refuses_a_token_without_its_agent(tmp_path: Path) -> None:
    settings = replace(load_settings(env={}), api_tokens=f"agent:sha256:{'0' * 64}")
    with pytest.raises(ConfigError, match=r"api_tokens: item 1: an agent token is bound"):
        Engine(settings)


async def test_health_and_metrics_show_the_outbox_backlog(
    client: TestClient[web.Request, web.Application], engine: Engine, tmp_path: Path
) -> None:
    """Events not yet written are on disk in the journal's outbox: /health and /metrics
    show how many, the oldest one's age and the bytes; written, the backlog is gone."""
    engine.notifier.publish(CallStarted("o-1", "5551000", "380441234567", "PJSIP/t-1"))
    engine.notifier.publish(CallStarted("o-2", "5551000", "380441234567", "PJSIP/t-2"))
    assert list((tmp_path / "var" / "outbox" / "journal").glob("*.jsonl"))
    await asyncio.sleep(0.05)

    box = (await (await client.get("/health")).json())["storage"]["journal"]["outbox"]
    assert (box["rows"], box["dropped"]) == (2, 0)
    assert box["oldest_age"] >= 0.05 and box["bytes"] > 0
    metrics = await (await client.get("/metrics")).text()
    assert 'ivr_outbox_rows{writer="journal"} 2.0' in metrics
    assert 'ivr_outbox_dropped_total{writer="journal"} 0.0' in metrics
    assert 'ivr_outbox_oldest_age_seconds{writer="journal"}' in metrics

    engine.tasks.spawn(engine.journal.run(), name="journal")
    await asyncio.wait_for(engine.journal.flush(), 10)
    box = (await (await client.get("/health")).json())["storage"]["journal"]["outbox"]
    assert (box["rows"], box["oldest_age"]) == (0, None)
    metrics = await (await client.get("/metrics")).text()
    assert 'ivr_outbox_rows{writer="journal"} 0.0' in metrics
    assert 'ivr_outbox_oldest_age_seconds{writer="journal"}' not in metrics
    await engine.journal.stop()


async def test_a_standby_shows_the_owner_s_live_row(tmp_path: Path) -> None:
    """Another engine holds the lease and wrote its row: this one's board, /api/agents
    and /health show that row (the caller waiting 12 s, the owner's agent), not its own
    monitors."""
    engine = new_engine(tmp_path)
    sessions = make_session_factory(engine.db)
    name = engine.settings.asterisk_name
    LeaseStore(sessions).take(name, "engine-x", ttl=30)
    await engine.ownership.renew_once()
    assert not engine.acting()
    caller = WaitingCaller(
        "c7", "internet", "5551000", "unknown", 0, 100.0, engine.clock.wall(), (), frozenset(), True
    )
    agent = engine.agents.snapshots()[0]
    LiveStateStore(sessions).write(name, "engine-x", floor_json(112.0, [caller], [], [agent]))
    await engine.live_reader.refresh()
    try:
        async with TestClient(TestServer(engine.web_app(engine.tokens))) as client:
            board = await (await client.get("/api/dashboard")).json()
            listed = await (await client.get("/api/agents")).json()
            health = await (await client.get("/health")).json()
    finally:
        await engine.tasks.cancel_all()
        engine.db.dispose()
    assert [(w["call_id"], round(w["wait"])) for w in board["waiting"]] == [("c7", 12)]
    assert [a["id"] for a in board["agents"]] == [a["id"] for a in listed["agents"]] == [agent.id]
    [live] = board["live"]
    assert (live["asterisk"], live["source"], live["owner"]) == (name, "shared", "engine-x")
    [seen] = health["live_state"]["asterisks"]
    assert (seen["source"], seen["owner"], health["live_state"]["read_error"]) == (
        "shared",
        "engine-x",
        None,
    )

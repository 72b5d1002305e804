"""The routes make_web_app and ivr.web.queues had before the API: health, the call
journal (now behind a token), agents, queues, the service level; and the OpenAPI file."""

import asyncio

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.events.model import CallStarted
from ivr.storage.journal import write_events
from tests.web.kit import ADMIN, AGENT, SUPERVISOR, T0, Kit, auth

Client = TestClient[web.Request, web.Application]


async def test_health_is_public(client: Client) -> None:
    response = await client.get("/health")
    assert response.status == 200 and (await response.json())["ok"] is True


async def test_the_call_journal_needs_a_token(kit: Kit, client: Client) -> None:
    started = CallStarted("c1", "5551000", "380671112233", "PJSIP/x-1", T0)
    await asyncio.to_thread(write_events, kit.sessions, [started])
    assert (await client.get("/api/calls")).status == 401
    response = await client.get("/api/calls", params={"limit": "5"}, headers=auth(AGENT))
    [call] = (await response.json())["calls"]
    assert (call["call_id"], call["caller"], call["started_at"]) == (
        "c1",
        "380671112233",
        T0.isoformat(),
    )
    for limit in ("0", "1001", "x", "2.5"):
        bad = await client.get("/api/calls", params={"limit": limit}, headers=auth(AGENT))
        assert bad.status == 400, limit


async def test_agents_log_in_pause_and_log_out(kit: Kit, client: Client) -> None:
    agents = (await (await client.get("/api/agents")).json())["agents"]  # public
    assert {a["id"] for a in agents} >= {"1001", "1002"}

    login = await client.post("/api/agents/1001/login", headers=auth(AGENT))
    assert login.status == 200 and (await login.json())["agent"]["state"] == "ready"
    pause = await client.post(
        "/api/agents/1001/pause", json={"reason": "обід"}, headers=auth(AGENT)
    )
    agent = (await pause.json())["agent"]
    assert (agent["state"], agent["reason"]) == ("paused", "обід")
    queues = (await (await client.get("/api/queues")).json())["queues"]
    assert queues["connections"]["agents"] == {"1001": "paused"}
    ready = await client.post("/api/agents/1001/ready", headers=auth(SUPERVISOR))
    assert (await ready.json())["agent"]["state"] == "ready"
    logout = await client.post("/api/agents/1001/logout", headers=auth(ADMIN))
    assert (await logout.json())["agent"]["state"] == "logged_out"
    assert ("pause", "Local/1001@ivr-agents", True, "обід") in kit.members.calls


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/api/agents/9999/login", None, 404, "unknown agent '9999'"),
        ("/api/agents/1001/ready", None, 409, "agent 1001 is not logged in"),
        ("/api/agents/1001/pause", {"reason": 5}, 400, "reason: expected text"),
        ("/api/agents/1001/pause", {"why": "x"}, 400, "why: unknown field"),
        ("/api/agents/1001/dance", None, 404, "not found"),
    ],
)
async def test_agent_commands_that_cannot_be_done(
    client: Client, path: str, body: object, status: int, error: str
) -> None:
    response = await client.post(path, json=body, headers=auth(AGENT))
    assert response.status == status and error in (await response.json())["error"]


async def test_a_pause_needs_a_reason(client: Client) -> None:
    await client.post("/api/agents/1001/login", headers=auth(AGENT))
    for body in ({}, {"reason": " "}, None):
        response = await client.post("/api/agents/1001/pause", json=body, headers=auth(AGENT))
        assert response.status == 409, body
        assert "a pause needs a reason" in (await response.json())["error"]


async def test_agent_commands_need_a_token(client: Client) -> None:
    assert (await client.post("/api/agents/1001/login")).status == 401


async def test_the_service_level_checks_its_query(client: Client) -> None:
    response = await client.get(
        "/api/service-level", params={"by": "all", "since": "2026-11-24T00:00:00+02:00"}
    )
    assert response.status == 200
    [overall] = (await response.json())["service_level"]
    assert overall["key"] == "all" and overall["offered"] == 0
    for params in ({"by": "agent"}, {"since": "2026-11-24"}, {"until": "2026-11-24T25:00:00Z"}):
        assert (await client.get("/api/service-level", params=params)).status == 400, params


async def test_the_openapi_file_is_served(client: Client) -> None:
    response = await client.get("/api/openapi.yaml")
    assert response.status == 200 and response.content_type == "application/yaml"
    spec = yaml.safe_load(await response.text())
    assert spec["openapi"].startswith("3.1") and "/api/appeals" in spec["paths"]


async def test_an_offset_typed_with_an_unencoded_plus_is_read(client: Client) -> None:
    """curl 'http://.../api/service-level?since=2026-11-24T00:00:00+02:00' sends a space."""
    typed = await client.get("/api/service-level?by=all&since=2026-11-24T00:00:00+02:00")
    encoded = await client.get(
        "/api/service-level", params={"by": "all", "since": "2026-11-24T00:00:00+02:00"}
    )
    assert typed.status == encoded.status == 200
    assert await typed.json() == await encoded.json()

"""The routes the app had before the REST API (ivr.web.routes: system, calls, agents,
queues): health, the call journal (now behind a token), agents, queues, the service level;
and the OpenAPI file."""

import asyncio
from datetime import timedelta

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.events.model import (
    CallAbandoned,
    CallAnswered,
    CallQueued,
    CallStarted,
    WaitPredicted,
)
from ivr.storage.journal import write_events
from tests.web.kit import ADMIN, AGENT, AGENT_B, SUPERVISOR, T0, TOKEN_LIST, Kit, auth

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
    assert ("pause", "PJSIP/1001", True, "обід") in kit.members.calls


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
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


async def test_a_supervisor_is_told_an_agent_is_unknown(client: Client) -> None:
    response = await client.post("/api/agents/9999/login", headers=auth(SUPERVISOR))
    assert response.status == 404
    assert "unknown agent '9999'" in (await response.json())["error"]


@pytest.mark.parametrize("action", ["login", "logout", "ready", "pause"])
async def test_an_agent_token_acts_for_its_own_agent_only(
    kit: Kit, client: Client, action: str
) -> None:
    await client.post("/api/agents/1002/login", headers=auth(AGENT_B))
    before = next(a for a in kit.board.agents() if a.id == "1002").view()
    body = {"reason": "lunch"} if action == "pause" else None
    response = await client.post(f"/api/agents/1002/{action}", json=body, headers=auth(AGENT))
    assert response.status == 403
    assert (await response.json())["error"] == (
        "agent: this token acts for agent 1001 only, not '1002'"
    )
    assert next(a for a in kit.board.agents() if a.id == "1002").view() == before
    unknown = await client.post(f"/api/agents/9999/{action}", json=body, headers=auth(AGENT))
    assert unknown.status == 403  # an agent learns nothing about other ids


async def test_a_supervisor_acts_for_any_agent(client: Client) -> None:
    for agent_id in ("1001", "1002"):
        response = await client.post(f"/api/agents/{agent_id}/login", headers=auth(SUPERVISOR))
        assert (await response.json())["agent"]["state"] == "ready", agent_id
        response = await client.post(
            f"/api/agents/{agent_id}/pause", json={"reason": "meeting"}, headers=auth(ADMIN)
        )
        assert (await response.json())["agent"]["state"] == "paused", agent_id


async def test_a_pause_needs_a_reason(client: Client) -> None:
    await client.post("/api/agents/1001/login", headers=auth(AGENT))
    for body in ({}, {"reason": " "}, None):
        response = await client.post("/api/agents/1001/pause", json=body, headers=auth(AGENT))
        assert response.status == 409, body
        assert "a pause needs a reason" in (await response.json())["error"]


async def test_agent_commands_need_a_known_token(client: Client) -> None:
    assert (await client.post("/api/agents/1001/login")).status == 401
    for header in (f"Bearer {AGENT}x", f"Bearer {AGENT[:-1]}", f"Basic {AGENT}", AGENT):
        response = await client.post("/api/agents/1001/login", headers={"Authorization": header})
        assert response.status == 401, header
        assert response.headers["WWW-Authenticate"] == "Bearer"
    # the hash in the configuration is not a token
    hashed = TOKEN_LIST.split(",")[2].rsplit(":", 1)[1]
    assert (await client.post("/api/agents/1001/login", headers=auth(hashed))).status == 401
    assert (await client.post("/api/agents/1001/login", headers=auth(AGENT))).status == 200


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


async def test_the_prediction_quality_is_public_and_covers_today_by_default(
    kit: Kit, client: Client
) -> None:
    queued, answered = T0 - timedelta(minutes=5), T0 - timedelta(minutes=4)
    events = [
        CallStarted("p1", "5551000", "380671112233", "PJSIP/x-1", queued),
        CallQueued("p1", "internet", 2, queued),
        WaitPredicted("p1", "internet", 2, 0, 1, 50.0, 100.0, 20.0, queued),
        CallAnswered("p1", "internet", "1001", "PJSIP/1001-1", 60.0, False, answered),
        CallStarted("old", "5551000", "380671112233", "PJSIP/x-2", T0 - timedelta(days=1)),
        CallQueued("old", "internet", 1, T0 - timedelta(days=1)),
        WaitPredicted("old", "internet", 1, 0, 1, 50.0, 5.0, 20.0, T0 - timedelta(days=1)),
        CallAbandoned("old", "internet", 9.0, T0 - timedelta(days=1)),
    ]
    await asyncio.to_thread(write_events, kit.sessions, events)
    body = await (await client.get("/api/prediction")).json()
    assert body["within"] == 30 and body["until"] is None
    assert body["queues"] == [
        {
            "queue": "internet",
            "calls": 1,
            "mean_absolute_error": 40.0,
            "mean_error": -40.0,  # answered sooner than predicted
            "within": 0,
            "share_within": 0.0,
        }
    ]
    assert body["overall"]["queue"] == "all" and body["overall"]["calls"] == 1
    week = {"since": (T0 - timedelta(days=7)).isoformat(), "within": "45"}
    body = await (await client.get("/api/prediction", params=week)).json()
    assert (body["overall"]["calls"], body["overall"]["within"]) == (2, 2)
    for params in ({"within": "0"}, {"within": "x"}, {"since": "yesterday"}):
        assert (await client.get("/api/prediction", params=params)).status == 400, params
    since = T0 - timedelta(days=40)  # more than a month is `ivr report prediction`'s job
    for window in (
        {"since": since.isoformat()},
        {"since": T0.isoformat(), "until": since.isoformat()},
    ):
        reply = await client.get("/api/prediction", params=window)
        assert reply.status == 400 and "until:" in (await reply.json())["error"], window

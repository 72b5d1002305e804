"""HTTP routes for queues: agents (read, log in/out, ready, pause), live queues, and the
service level per queue and per line."""

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.queues.agents import AgentBoard, AgentError
from ivr.storage.service_level import ServiceLevelRepository
from ivr.telephony.ami import AmiError
from ivr.web.auth import require

LiveQueues = Callable[[], Mapping[str, Any]]
Reply = Callable[..., web.Response]


def _time(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name}: expected an ISO date-time, got {value!r}"}),
            content_type="application/json",
        ) from None


def add_queue_routes(
    app: web.Application,
    reply: Reply,
    agents: AgentBoard,
    live: LiveQueues,
    service_level: ServiceLevelRepository,
    tokens: Mapping[str, str],
) -> None:
    async def list_agents(_: web.Request) -> web.Response:
        return reply({"agents": [a.view() for a in agents.agents()]})

    @require(tokens, "agent", "supervisor", "admin")
    async def agent_action(request: web.Request) -> web.StreamResponse:
        agent_id, action = request.match_info["agent"], request.match_info["action"]
        body: dict[str, Any] = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return reply({"error": 'the body must be JSON, e.g. {"reason": "lunch"}'}, 400)
            if not isinstance(body, dict):
                return reply({"error": "the body must be a JSON object"}, 400)
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            return reply({"error": "reason: expected text"}, 400)
        try:
            if action == "login":
                state = await agents.login(agent_id)
            elif action == "logout":
                state = await agents.logout(agent_id)
            elif action == "ready":
                state = await agents.ready(agent_id)
            elif action == "pause":
                state = await agents.pause(agent_id, reason)
            else:
                return reply({"error": f"unknown action {action!r}"}, 404)
        except AgentError as exc:
            status = 404 if "unknown agent" in str(exc) else 409
            return reply({"error": str(exc)}, status)
        except AmiError as exc:
            return reply({"error": f"Asterisk did not take it: {exc}"}, 502)
        return reply({"agent": state.view()})

    async def get_queues(_: web.Request) -> web.Response:
        return reply(live())

    async def get_service_level(request: web.Request) -> web.Response:
        by = request.query.get("by", "queue")
        since, until = _time(request, "since"), _time(request, "until")
        if by == "queue":
            rows = await asyncio.to_thread(service_level.by_queue, since, until)
        elif by == "line":
            rows = await asyncio.to_thread(service_level.by_line, since, until)
        elif by == "all":
            rows = [await asyncio.to_thread(service_level.overall, since, until)]
        else:
            return reply({"error": "by: expected queue, line or all"}, 400)
        return reply({"by": by, "service_level": [asdict(row) for row in rows]})

    app.router.add_get("/api/agents", list_agents)
    app.router.add_post("/api/agents/{agent}/{action}", agent_action)
    app.router.add_get("/api/queues", get_queues)
    app.router.add_get("/api/service-level", get_service_level)

"""HTTP routes for queues: agents (read, log in/out, ready, pause), live queues, and the
service level per queue and per line."""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from aiohttp import web

from ivr.queues.agents import AgentBoard, AgentError, AgentState
from ivr.storage.service_level import ServiceLevelRepository
from ivr.telephony.ami import AmiError
from ivr.web.api_input import error, query_choice, query_time, read_body
from ivr.web.auth import Handler, act_for, require
from ivr.web.tokens import ROLES, TokenBook

LiveQueues = Callable[[], Mapping[str, Any]]
Reply = Callable[..., web.Response]
AGENT_ACTIONS = ("login", "logout", "ready", "pause")


def add_queue_routes(
    app: web.Application,
    reply: Reply,
    agents: AgentBoard,
    live: LiveQueues,
    service_level: ServiceLevelRepository,
    tokens: TokenBook,
) -> None:
    async def list_agents(_: web.Request) -> web.Response:
        return reply({"agents": [a.view() for a in agents.agents()]})

    async def act(agent_id: str, action: str, reason: str) -> AgentState:
        if action == "login":
            return await agents.login(agent_id)
        if action == "logout":
            return await agents.logout(agent_id)
        if action == "ready":
            return await agents.ready(agent_id)
        return await agents.pause(agent_id, reason)

    def agent_action(action: str) -> Handler:
        @require(tokens, *ROLES)
        async def handle(request: web.Request) -> web.StreamResponse:
            agent_id, reason = request.match_info["agent"], ""
            act_for(request, agent_id)  # an agent's token: his own id only
            if action == "pause" and request.body_exists:  # no reason: 409 from the board
                reason = (await read_body(request, ("reason",))).text("reason")
            try:
                state = await act(agent_id, action, reason)
            except AgentError as exc:
                raise error(404 if "unknown agent" in str(exc) else 409, str(exc)) from None
            except AmiError as exc:
                return reply({"error": f"Asterisk did not take it: {exc}"}, 502)
            return reply({"agent": state.view()})

        return handle

    async def get_queues(_: web.Request) -> web.Response:
        return reply(live())

    async def get_service_level(request: web.Request) -> web.Response:
        by = query_choice(request, "by", ("queue", "line", "all")) or "queue"
        since, until = query_time(request, "since"), query_time(request, "until")
        if by == "queue":
            rows = await asyncio.to_thread(service_level.by_queue, since, until)
        elif by == "line":
            rows = await asyncio.to_thread(service_level.by_line, since, until)
        else:
            rows = [await asyncio.to_thread(service_level.overall, since, until)]
        return reply({"by": by, "service_level": [asdict(row) for row in rows]})

    app.router.add_get("/api/agents", list_agents)
    for action in AGENT_ACTIONS:
        app.router.add_post(f"/api/agents/{{agent}}/{action}", agent_action(action))
    app.router.add_get("/api/queues", get_queues)
    app.router.add_get("/api/service-level", get_service_level)

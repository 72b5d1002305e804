"""Routes for the agents: who they are and their state; log in, log out, ready, pause (an
agent's token acts for its own agent only)."""

from aiohttp import web

from ivr.monitors.agents import AgentError, AgentState
from ivr.telephony.ami import AmiError
from ivr.web.auth import act_for
from ivr.web.input import read_body
from ivr.web.keys import AGENTS, LIVE_AGENTS
from ivr.web.reply import error, reply
from ivr.web.route import ANY_ROLE, PUBLIC, Route


async def list_agents(request: web.Request) -> web.Response:
    """What the live board shows: a standby lists the agents its Asterisk's owner sees."""
    return reply({"agents": request.app[LIVE_AGENTS]()})


async def login(request: web.Request) -> web.StreamResponse:
    return await _act(request, "login")


async def logout(request: web.Request) -> web.StreamResponse:
    return await _act(request, "logout")


async def ready(request: web.Request) -> web.StreamResponse:
    return await _act(request, "ready")


async def pause(request: web.Request) -> web.StreamResponse:
    """With {"reason": ...}; without a reason the board refuses it (409)."""
    return await _act(request, "pause")


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    agent_id, reason = request.match_info["agent"], ""
    act_for(request, agent_id)  # an agent's token: his own id only
    if action == "pause" and request.body_exists:  # no reason: 409 from the board
        reason = (await read_body(request, ("reason",))).text("reason")
    try:
        state = await _change(request, agent_id, action, reason)
    except AgentError as exc:
        raise error(404 if "unknown agent" in str(exc) else 409, str(exc)) from None
    except AmiError as exc:
        return reply({"error": f"Asterisk did not take it: {exc}"}, 502)
    return reply({"agent": state.view()})


async def _change(request: web.Request, agent_id: str, action: str, reason: str) -> AgentState:
    agents = request.app[AGENTS]
    if action == "login":
        return await agents.login(agent_id)
    if action == "logout":
        return await agents.logout(agent_id)
    if action == "ready":
        return await agents.ready(agent_id)
    return await agents.pause(agent_id, reason)


ROUTES = (
    Route("GET", "/api/agents", list_agents, PUBLIC),
    Route("POST", "/api/agents/{agent}/login", login, ANY_ROLE),
    Route("POST", "/api/agents/{agent}/logout", logout, ANY_ROLE),
    Route("POST", "/api/agents/{agent}/ready", ready, ANY_ROLE),
    Route("POST", "/api/agents/{agent}/pause", pause, ANY_ROLE),
)

"""Routes of the live board and the agent view.

- GET /api/dashboard: the board's snapshot (public, no personal data);
- GET /api/live: Server-Sent Events, "snapshot" events (at least one a second);
- GET /api/agents/{agent}/call (token; an agent's token: his own): {"call": card or null};
- GET /api/agents/{agent}/events (the same token): Server-Sent Events, "call" with the card and
  "agent" with the agent's state, the current ones at connect, then on every change.

A stream ends when its client goes (checked at least once a second) or the server stops.
Streams are capped (ivr.web.limits.StreamSlots): over the cap a stream request gets 503 with
Retry-After.
"""

import asyncio
import json
from contextlib import aclosing
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from ivr.web.auth import act_for
from ivr.web.keys import BOARD, CLOSING, SCREEN_POP, STREAMS
from ivr.web.reply import busy, reply
from ivr.web.route import ANY_ROLE, PUBLIC, Route

POLL = 1.0  # seconds: how often an idle stream checks that its client is still there


async def get_dashboard(request: web.Request) -> web.Response:
    return reply(request.app[BOARD].snapshot())


async def get_live(request: web.Request) -> web.StreamResponse:
    board, closing = request.app[BOARD], request.app[CLOSING]
    with request.app[STREAMS].hold() as admitted:
        if not admitted:
            return _full(request)
        async with sse_response(request) as stream, aclosing(board.updates()) as updates:
            async for snapshot in updates:
                if closing.is_set() or _gone(request):
                    break
                if not await _send(stream, snapshot, "snapshot"):
                    break
        return stream


async def get_call(request: web.Request) -> web.StreamResponse:
    agent_id = request.match_info["agent"]
    act_for(request, agent_id)  # an agent's token: his own screen pop only
    if not request.app[BOARD].knows_agent(agent_id):
        return _unknown(agent_id)
    return reply({"call": request.app[SCREEN_POP].card(agent_id)})


async def get_agent_events(request: web.Request) -> web.StreamResponse:
    agent_id = request.match_info["agent"]
    act_for(request, agent_id)  # an agent's token: his own screen pop only
    if not request.app[BOARD].knows_agent(agent_id):
        return _unknown(agent_id)
    with request.app[STREAMS].hold() as admitted:
        if not admitted:
            return _full(request)
        return await _agent_stream(request, agent_id)


async def _agent_stream(request: web.Request, agent_id: str) -> web.StreamResponse:
    board, screen_pop, closing = request.app[BOARD], request.app[SCREEN_POP], request.app[CLOSING]
    sent_card: object = None
    sent_agent: object = None
    async with sse_response(request) as stream:
        with screen_pop.watch(agent_id) as changed:
            while not (closing.is_set() or _gone(request)):
                changed.clear()
                card, agent = screen_pop.card(agent_id), board.agent_view(agent_id)
                if card is not None and card != sent_card:
                    if not await _send(stream, card, "call"):
                        break
                    sent_card = card
                if agent != sent_agent:
                    if not await _send(stream, agent, "agent"):
                        break
                    sent_agent = agent
                try:
                    async with asyncio.timeout(POLL):
                        await changed.wait()
                except TimeoutError:
                    pass
    return stream


def _unknown(agent_id: str) -> web.Response:
    return reply({"error": f"unknown agent {agent_id!r}: agents are listed in queues.yaml"}, 404)


def _full(request: web.Request) -> web.Response:
    limit = request.app[STREAMS].limit
    return busy(f"streams: all {limit} live streams are in use; retry later")


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _send(stream: EventSourceResponse, data: Any, event: str) -> bool:
    """Send one event; False when the client has gone."""
    try:
        await stream.send(json.dumps(data), event=event)
    except (ConnectionResetError, TimeoutError):
        return False
    return True


ROUTES = (
    Route("GET", "/api/dashboard", get_dashboard, PUBLIC),
    Route("GET", "/api/live", get_live, PUBLIC),
    Route("GET", "/api/agents/{agent}/call", get_call, ANY_ROLE),
    Route("GET", "/api/agents/{agent}/events", get_agent_events, ANY_ROLE),
)

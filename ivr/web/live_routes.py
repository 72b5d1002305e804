"""HTTP routes of the live board and the agent view.

- GET /api/dashboard: the board's snapshot (public, no personal data);
- GET /api/live: Server-Sent Events, "snapshot" events (at least one a second);
- GET /api/agents/{agent}/call (token; an agent's token: his own): {"call": card or null};
- GET /api/agents/{agent}/events (the same token): Server-Sent Events, "call" with the card and
  "agent" with the agent's state, the current ones at connect, then on every change.

A stream ends when its client goes (checked at least once a second) or the server stops.
Streams are capped (`streams`): over the cap a stream request gets 503 with Retry-After.
"""

import asyncio
import json
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from ivr.web.auth import act_for, require
from ivr.web.limits import StreamSlots, busy
from ivr.web.live import LiveBoard
from ivr.web.screen_pop import ScreenPop
from ivr.web.tokens import ROLES, TokenBook

Reply = Callable[..., web.Response]
POLL = 1.0  # seconds: how often an idle stream checks that its client is still there


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def add_live_routes(
    app: web.Application,
    reply: Reply,
    board: LiveBoard,
    screen_pop: ScreenPop,
    tokens: TokenBook,
    *,
    streams: StreamSlots,
) -> None:
    closing = asyncio.Event()  # the server stops: every stream ends

    async def stop_streams(_: web.Application) -> None:
        closing.set()

    app.on_shutdown.append(stop_streams)

    def unknown(agent_id: str) -> web.Response:
        return reply(
            {"error": f"unknown agent {agent_id!r}: agents are listed in queues.yaml"}, 404
        )

    def full() -> web.Response:
        return busy(reply, f"streams: all {streams.limit} live streams are in use; retry later")

    async def get_dashboard(_: web.Request) -> web.Response:
        return reply(board.snapshot())

    async def get_live(request: web.Request) -> web.StreamResponse:
        with streams.hold() as admitted:
            if not admitted:
                return full()
            async with sse_response(request) as stream, aclosing(board.updates()) as updates:
                async for snapshot in updates:
                    if closing.is_set() or _gone(request):
                        break
                    if not await _send(stream, snapshot, "snapshot"):
                        break
            return stream

    @require(tokens, *ROLES)
    async def get_call(request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent"]
        act_for(request, agent_id)  # an agent's token: his own screen pop only
        if not board.knows_agent(agent_id):
            return unknown(agent_id)
        return reply({"call": screen_pop.card(agent_id)})

    @require(tokens, *ROLES)
    async def get_agent_events(request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent"]
        act_for(request, agent_id)  # an agent's token: his own screen pop only
        if not board.knows_agent(agent_id):
            return unknown(agent_id)
        with streams.hold() as admitted:
            if not admitted:
                return full()
            return await agent_stream(request, agent_id)

    async def agent_stream(request: web.Request, agent_id: str) -> web.StreamResponse:
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

    app.router.add_get("/api/dashboard", get_dashboard)
    app.router.add_get("/api/live", get_live)
    app.router.add_get("/api/agents/{agent}/call", get_call)
    app.router.add_get("/api/agents/{agent}/events", get_agent_events)


async def _send(stream: EventSourceResponse, data: Any, event: str) -> bool:
    """Send one event; False when the client has gone."""
    try:
        await stream.send(json.dumps(data), event=event)
    except (ConnectionResetError, TimeoutError):
        return False
    return True

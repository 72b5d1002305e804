"""Routes for the queues: each queue now (who waits, its agents), and the service level per
queue, per line or overall."""

import asyncio
from dataclasses import asdict

from aiohttp import web

from ivr.web.input import query_choice, query_time
from ivr.web.keys import LIVE_QUEUES, SERVICE_LEVEL
from ivr.web.reply import reply
from ivr.web.route import PUBLIC, Route


async def get_queues(request: web.Request) -> web.Response:
    return reply(request.app[LIVE_QUEUES]())


async def get_service_level(request: web.Request) -> web.Response:
    by = query_choice(request, "by", ("queue", "line", "all")) or "queue"
    since, until = query_time(request, "since"), query_time(request, "until")
    service_level = request.app[SERVICE_LEVEL]
    if by == "queue":
        rows = await asyncio.to_thread(service_level.by_queue, since, until)
    elif by == "line":
        rows = await asyncio.to_thread(service_level.by_line, since, until)
    else:
        rows = [await asyncio.to_thread(service_level.overall, since, until)]
    return reply({"by": by, "service_level": [asdict(row) for row in rows]})


ROUTES = (
    Route("GET", "/api/queues", get_queues, PUBLIC),
    Route("GET", "/api/service-level", get_service_level, PUBLIC),
)

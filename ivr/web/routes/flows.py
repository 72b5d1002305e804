"""Routes for the flows: validate flows/ as it is on disk, and reload it."""

import asyncio

from aiohttp import web

from ivr.web.keys import FLOWS, VALIDATE_FLOWS
from ivr.web.reply import reply
from ivr.web.route import MANAGERS, Route


async def validate(request: web.Request) -> web.StreamResponse:
    """Whether flows/ would load now; problems (warnings too) as file:line:col."""
    validation = await asyncio.to_thread(request.app[VALIDATE_FLOWS])
    ok = validation.library is not None and not any(not p.warning for p in validation.problems)
    return reply({"ok": ok, "problems": [str(p) for p in validation.problems]})


async def reload(request: web.Request) -> web.StreamResponse:
    """Put flows/ into service now; 422 when it is rejected (the old flows keep serving)."""
    result = await request.app[FLOWS].reload()
    body = {"ok": result.ok, "problems": result.problems, "rendered": result.rendered}
    return reply(body, 200 if result.ok else 422)


ROUTES = (
    Route("POST", "/api/flows/validate", validate, MANAGERS),
    Route("POST", "/api/flows/reload", reload, MANAGERS),
)

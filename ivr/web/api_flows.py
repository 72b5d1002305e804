"""API routes for the flows: validate flows/ as it is on disk, and reload it."""

import asyncio

from aiohttp import web

from ivr.web.api_deps import MANAGERS, ApiDeps
from ivr.web.app import Reply
from ivr.web.auth import require


def add_flow_routes(app: web.Application, reply: Reply, deps: ApiDeps) -> None:
    managers = require(deps.tokens, *MANAGERS)

    @managers
    async def validate(_: web.Request) -> web.StreamResponse:
        """Whether flows/ would load now; problems (warnings too) as file:line:col."""
        validation = await asyncio.to_thread(deps.validate_flows)
        ok = validation.library is not None and not any(not p.warning for p in validation.problems)
        return reply({"ok": ok, "problems": [str(p) for p in validation.problems]})

    @managers
    async def reload(_: web.Request) -> web.StreamResponse:
        """Put flows/ into service now; 422 when it is rejected (the old flows keep
        serving)."""
        result = await deps.flows.reload()
        body = {"ok": result.ok, "problems": result.problems, "rendered": result.rendered}
        return reply(body, 200 if result.ok else 422)

    app.router.add_post("/api/flows/validate", validate)
    app.router.add_post("/api/flows/reload", reload)

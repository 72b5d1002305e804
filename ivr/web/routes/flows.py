"""Routes for the flows: validate flows/ as it is on disk, reload it, its history of
accepted versions and a rollback to one of them."""

import asyncio

from aiohttp import web

from ivr.storage.flow_history import UnknownVersion
from ivr.web.input import query_int, read_body
from ivr.web.keys import FLOW_HISTORY, FLOWS, PRINCIPAL, STORAGE, VALIDATE_FLOWS
from ivr.web.reply import error, reply
from ivr.web.route import MANAGERS, Route

MAX_HISTORY = 500


async def validate(request: web.Request) -> web.StreamResponse:
    """Whether flows/ would load now; problems (warnings too) as file:line:col."""
    validation = await asyncio.to_thread(request.app[VALIDATE_FLOWS])
    ok = validation.library is not None and not any(not p.warning for p in validation.problems)
    return reply({"ok": ok, "problems": [str(p) for p in validation.problems]})


async def reload(request: web.Request) -> web.StreamResponse:
    """Put flows/ into service now; 422 when it is rejected (the old flows keep serving)."""
    result = await request.app[FLOWS].reload(f"api {request[PRINCIPAL].who()}")
    body = {"ok": result.ok, "problems": result.problems, "rendered": result.rendered}
    return reply(body, 200 if result.ok else 422)


async def history(request: web.Request) -> web.StreamResponse:
    """The accepted versions, newest first (no diffs: GET /api/flows/history/{id})."""
    limit = query_int(request, "limit", 20, 1, MAX_HISTORY)
    versions = await request.app[STORAGE].run(request.app[FLOW_HISTORY].recent, limit)
    return reply({"versions": [v.as_dict() for v in versions]})


async def version(request: web.Request) -> web.StreamResponse:
    """One version with its diff against the version before."""
    number = min(int(request.match_info["id"]), 2**31)  # past any id: 404
    try:
        found = await request.app[STORAGE].run(request.app[FLOW_HISTORY].get, number)
    except UnknownVersion as exc:
        raise error(404, f"id: {exc}") from None
    return reply({"version": found.as_dict(with_diff=True)})


async def rollback(request: web.Request) -> web.StreamResponse:
    """Put an old version's files back in flows/ and into service; 422 when they no longer
    load (against today's queues.yaml, say): nothing is changed then."""
    body = await read_body(request, ("version",))
    number = body.integer("version")
    if number is None:
        raise error(400, "version: expected the version's id (GET /api/flows/history)")
    try:
        files = await request.app[STORAGE].run(request.app[FLOW_HISTORY].files, number)
    except UnknownVersion as exc:
        raise error(404, f"version: {exc}") from None
    who = f"rollback of {number} by {request[PRINCIPAL].who()}"
    result = await request.app[FLOWS].restore(files, who)
    latest = await request.app[STORAGE].run(request.app[FLOW_HISTORY].recent, 1)
    payload = {"ok": result.ok, "problems": result.problems, "rendered": result.rendered}
    if result.ok and latest:
        payload["version"] = latest[0].as_dict()
    return reply(payload, 200 if result.ok else 422)


ROUTES = (
    Route("POST", "/api/flows/validate", validate, MANAGERS),
    Route("POST", "/api/flows/reload", reload, MANAGERS),
    Route("GET", "/api/flows/history", history, MANAGERS),
    Route("GET", "/api/flows/history/{id:[0-9]+}", version, MANAGERS),
    Route("POST", "/api/flows/rollback", rollback, MANAGERS),
)

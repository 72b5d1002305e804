"""The HTTP side of the engine: health, the call journal, the OpenAPI description, and the
routes other modules add (queues, the REST API, the live dashboard, metrics).

Every error is JSON: {"error": "<field>: <what is expected>"}, also the router's 404/405.
"""

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.storage.dead_letters import brief
from ivr.storage.gate import DatabaseUnavailable, is_unavailable
from ivr.storage.repository import JournalRepository
from ivr.web.api_deps import ANY_ROLE
from ivr.web.api_input import query_int
from ivr.web.auth import require
from ivr.web.limits import HttpLimits, body_limits
from ivr.web.tokens import TokenBook

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Mapping[str, Any]]
Reply = Callable[..., web.Response]  # reply(data, status=200) -> a JSON response
RouteAdder = Callable[[web.Application, Reply], None]
Recorded = Callable[[Iterable[str]], set[str]]  # which of these calls have a recording

OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.yaml"
_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON response (UTF-8, datetimes as ISO 8601)."""
    return web.json_response(
        data,
        status=status,
        dumps=lambda d: json.dumps(d, default=_json_default, ensure_ascii=False),
    )


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """The router's and aiohttp's own errors (404, 405, 413...) as JSON too."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        out = reply({"error": (exc.reason or "error").lower()}, exc.status)
        for name in _KEPT_HEADERS:
            if name in exc.headers:
                out.headers[name] = exc.headers[name]
        return out


@web.middleware
async def database_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """A database that does not answer (refused, timed out, locked): 503 at once, never a
    hung request or a 500. The request may be retried."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # A gate's failure is logged once per incident (ivr.storage.health); others here.
        level = logging.DEBUG if isinstance(exc, DatabaseUnavailable) else logging.WARNING
        log.log(
            level, "%s %s: 503, database unavailable: %s", request.method, request.path, brief(exc)
        )
        return reply({"error": "database unavailable, try again later"}, 503)


def make_web_app(
    journal: JournalRepository,
    health: HealthProbe,
    route_adders: Sequence[RouteAdder] = (),
    *,
    tokens: TokenBook,
    limits: HttpLimits | None = None,
    recorded: Recorded = lambda _ids: set(),
) -> web.Application:
    """The aiohttp app; `tokens` guard the call journal; request bodies are held to
    `limits` (size and time); `recorded` says which journal rows have a recording."""

    async def get_health(_: web.Request) -> web.Response:
        report = dict(health())
        return reply(report, status=200 if report.get("ok") else 503)

    @require(tokens, *ANY_ROLE)
    async def get_calls(request: web.Request) -> web.StreamResponse:
        limit = query_int(request, "limit", 50, 1, 1000)

        def read() -> list[dict[str, Any]]:
            rows = [asdict(row) for row in journal.recent(limit)]
            have = recorded([row["call_id"] for row in rows])
            return [{**row, "recording": row["call_id"] in have} for row in rows]

        return reply({"calls": await asyncio.to_thread(read)})

    async def get_openapi(_: web.Request) -> web.Response:
        text = await asyncio.to_thread(OPENAPI_FILE.read_text, encoding="utf-8")
        return web.Response(text=text, content_type="application/yaml")

    limits = limits or HttpLimits()
    app = web.Application(
        middlewares=[
            json_errors,
            database_errors,
            body_limits(limits.max_body_bytes, limits.body_timeout),
        ],
        client_max_size=limits.max_body_bytes,
    )
    app.router.add_get("/health", get_health)
    app.router.add_get("/api/calls", get_calls)
    app.router.add_get("/api/openapi.yaml", get_openapi)
    for add_routes in route_adders:
        add_routes(app, reply)
    return app

"""The HTTP side of the engine: health and the call journal (dashboard and API grow here)."""

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.storage.repository import JournalRepository

HealthProbe = Callable[[], Mapping[str, Any]]


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, dumps=lambda d: json.dumps(d, default=_json_default)
    )


def make_web_app(
    journal: JournalRepository,
    health: HealthProbe,
    add_routes: Callable[[web.Application, Callable[..., web.Response]], None] | None = None,
) -> web.Application:
    async def get_health(_: web.Request) -> web.Response:
        report = dict(health())
        return _json(report, status=200 if report.get("ok") else 503)

    async def get_calls(request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return _json({"error": "limit: expected a whole number"}, status=400)
        if not 1 <= limit <= 1000:
            return _json({"error": "limit: expected 1..1000"}, status=400)
        rows = await asyncio.to_thread(journal.recent, limit)
        return _json({"calls": [asdict(row) for row in rows]})

    app = web.Application()
    app.router.add_get("/health", get_health)
    app.router.add_get("/api/calls", get_calls)
    if add_routes is not None:
        add_routes(app, _json)
    return app

"""The engine's own routes: health, its OpenAPI description, the Prometheus metrics."""

import asyncio
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ivr.web.keys import HEALTH, METRICS
from ivr.web.reply import reply
from ivr.web.route import PUBLIC, Route

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


async def get_health(request: web.Request) -> web.Response:
    report = dict(request.app[HEALTH]())
    return reply(report, status=200 if report.get("ok") else 503)


async def get_openapi(_: web.Request) -> web.Response:
    text = await asyncio.to_thread(OPENAPI_FILE.read_text, encoding="utf-8")
    return web.Response(text=text, content_type="application/yaml")


async def get_metrics(request: web.Request) -> web.Response:
    """The live board's snapshot and the storage figures (ivr.web.metrics), at scrape time."""
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


ROUTES = (
    Route("GET", "/health", get_health, PUBLIC),
    Route("GET", "/api/openapi.yaml", get_openapi, PUBLIC),
    Route("GET", "/metrics", get_metrics, PUBLIC),
)

"""The middlewares every request passes, outermost first: errors as JSON, a database that
does not answer as 503, request bodies held to their limits (then ivr.web.auth's
authentication, innermost)."""

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Middleware

from ivr.storage.dead_letters import brief
from ivr.storage.gate import DatabaseUnavailable, is_unavailable
from ivr.web.reply import refuse, reply
from ivr.web.route import Handler

log = logging.getLogger(__name__)

_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The router's and aiohttp's own errors (404, 405, 413...) as JSON too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        out = reply({"error": (exc.reason or "error").lower()}, exc.status)
        for name in _KEPT_HEADERS:
            if name in exc.headers:
                out.headers[name] = exc.headers[name]
        return out


@web.middleware
async def database_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database that does not answer (refused, timed out, locked): 503 at once, never a
    hung request or a 500. The request may be retried."""
    try:
        return await handler(request)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # A gate's failure is logged once per incident (ivr.storage.health); others here.
        level = logging.DEBUG if isinstance(exc, DatabaseUnavailable) else logging.WARNING
        log.log(
            level, "%s %s: 503, database unavailable: %s", request.method, request.path, brief(exc)
        )
        return reply({"error": "database unavailable, try again later"}, 503)


def body_limits(max_bytes: int, timeout: float) -> Middleware:
    """A request body is read whole, up to `max_bytes`, within `timeout` seconds, before the
    handler runs (413 or 408 otherwise; the connection is then closed)."""

    @web.middleware
    async def read_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            if request.content_length is not None and request.content_length > max_bytes:
                return refuse(f"body: at most {max_bytes} bytes", 413)
            try:
                async with asyncio.timeout(timeout):
                    await request.read()  # kept: json() and text() use it
            except TimeoutError:
                return refuse(f"body: not received within {timeout:g} s", 408)
            except web.HTTPRequestEntityTooLarge:
                return refuse(f"body: at most {max_bytes} bytes", 413)
        return await handler(request)

    return read_body

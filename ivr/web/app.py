"""The HTTP side of the engine, built from the route tables (ivr/web/routes/): every route
under its declared roles, behind the middlewares (ivr.web.middleware, ivr.web.auth).

What the handlers work with is set in the app under the keys of ivr.web.keys by the wiring
point (ivr/app.py), before the app starts. Every error is JSON: {"error": "<field>: <what
is expected>"}, also the router's 404/405.
"""

import asyncio
from collections.abc import Iterable

from aiohttp import web

from ivr.web.auth import authentication
from ivr.web.keys import ACCESS, CLOSING, RECORDED
from ivr.web.limits import HttpLimits
from ivr.web.middleware import body_limits, database_errors, json_errors
from ivr.web.route import Handler, Roles, Route
from ivr.web.routes import ALL
from ivr.web.routes.pages import STATIC_DIR, STATIC_PREFIX
from ivr.web.routes.system import OPENAPI_FILE

__all__ = ["OPENAPI_FILE", "make_web_app"]


def make_web_app(
    routes: Iterable[Route] = ALL, *, limits: HttpLimits | None = None
) -> web.Application:
    """The aiohttp app serving `routes` and the pages' files; request bodies are held to
    `limits` (size and time)."""
    limits = limits or HttpLimits()
    app = web.Application(
        middlewares=[
            json_errors,
            database_errors,
            body_limits(limits.max_body_bytes, limits.body_timeout),
            authentication,
        ],
        client_max_size=limits.max_body_bytes,
    )
    access: dict[Handler, Roles] = {}
    for route in routes:
        if access.setdefault(route.handler, route.roles) != route.roles:
            raise ValueError(f"{route.path}: its handler serves another route with other roles")
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)  # HEAD too
        else:
            app.router.add_route(route.method, route.path, route.handler)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, append_version=False)
    app[ACCESS] = access
    app[CLOSING] = asyncio.Event()
    app[RECORDED] = lambda _call_ids: set()  # no recordings unless the wiring says otherwise
    app.on_shutdown.append(_stop_streams)
    return app


async def _stop_streams(app: web.Application) -> None:
    """The server stops: every live stream ends."""
    app[CLOSING].set()

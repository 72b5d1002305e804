"""The browser pages: the supervisors' live dashboard and the agent desk (screen pop).

Plain HTML, CSS and ES modules from ivr/web/static, no build step and nothing from a CDN.
The pages hold no data: they read /api/live, /api/agents/{id}/events and the REST API.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The pages load only their own files and talk only to this server; data is never markup.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _page(name: str) -> Handler:
    path = STATIC_DIR / name

    async def serve(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers=SECURITY_HEADERS)

    return serve


async def _home(_: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard")


def add_page_routes(app: web.Application) -> None:
    """GET / (to the dashboard), /dashboard, /agent and the files under /static/."""
    app.router.add_get("/", _home)
    app.router.add_get("/dashboard", _page("dashboard.html"))
    app.router.add_get("/agent", _page("agent.html"))
    app.router.add_static("/static/", STATIC_DIR, append_version=False)

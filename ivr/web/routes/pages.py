"""The browser pages: the supervisors' live dashboard and the agent desk (screen pop).

Plain HTML, CSS and ES modules from ivr/web/static (served under STATIC_PREFIX), no build
step and nothing from a CDN. The pages hold no data: they read /api/live,
/api/agents/{id}/events and the REST API.
"""

from pathlib import Path

from aiohttp import web

from ivr.web.route import PUBLIC, Route

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_PREFIX = "/static/"

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


async def home(_: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard")


async def dashboard(_: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "dashboard.html", headers=SECURITY_HEADERS)


async def agent(_: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "agent.html", headers=SECURITY_HEADERS)


ROUTES = (
    Route("GET", "/", home, PUBLIC),
    Route("GET", "/dashboard", dashboard, PUBLIC),
    Route("GET", "/agent", agent, PUBLIC),
)

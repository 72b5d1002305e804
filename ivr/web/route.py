"""A route table entry: method, path, handler and who may call it.

Every route module (ivr/web/routes/) exports ROUTES, a tuple of these; ivr.web.app builds
the app from them and the authentication middleware (ivr.web.auth) reads `roles`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ivr.web.tokens import ROLES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Roles = tuple[str, ...]

PUBLIC: Roles = ()  # no token needed: counts, lines, outages, the board (no personal data)
ANY_ROLE: Roles = ROLES  # reads of personal data, desk filings, an agent's own actions
MANAGERS: Roles = ("supervisor", "admin")  # the directory, the outage board, flows, monitoring


@dataclass(frozen=True)
class Route:
    method: str  # GET (HEAD is served too), POST
    path: str  # as aiohttp's router takes it: /api/subscribers/{id:[0-9]+}
    handler: Handler
    roles: Roles  # a bearer token of one of these roles is needed; PUBLIC: none

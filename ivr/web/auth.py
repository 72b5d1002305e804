"""Bearer-token authentication with roles (admin, supervisor, agent) and, for agent tokens,
the one agent they act for.

Tokens and their hashes: ivr/web/tokens.py. Every request that changes state needs a
token; what is addressed by agent id (the agent's state, his screen pop, whom a filing is
from) must be the token's own agent when the token is an agent's.
"""

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from ivr.web.tokens import Principal, TokenBook

PRINCIPAL = web.RequestKey("principal", Principal)  # who the caller is, for handlers
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def forbidden(message: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json"
    )


def require(tokens: TokenBook, *roles: str) -> Callable[[Handler], Handler]:
    """Wrap a handler: 401 without a known token, 403 when its role is not allowed."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            principal = tokens.find(given.strip()) if scheme.lower() == "bearer" else None
            if principal is None:
                hint = "" if len(tokens) else " (the engine has no API tokens: see `ivr token new`)"
                raise web.HTTPUnauthorized(
                    text=json.dumps({"error": f"a valid bearer token is required{hint}"}),
                    content_type="application/json",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if principal.role not in roles:
                raise forbidden(f"role {principal.role} may not do this")
            request[PRINCIPAL] = principal
            return await handler(request)

        return guarded

    return wrap


def act_for(request: web.Request, agent_id: str) -> None:
    """403 unless the (authenticated) caller may act for `agent_id`."""
    principal = request[PRINCIPAL]
    if not principal.may_act_for(agent_id):
        raise forbidden(
            f"agent: this token acts for agent {principal.agent} only, not {agent_id[:64]!r}"
        )


def filed_by_agent(request: web.Request, given: str) -> str:
    """Whom a filing is from: an agent token files as its own agent (403 if the body names
    another one); supervisors and admins file as the agent they name, if any."""
    principal = request[PRINCIPAL]
    if principal.agent is None:
        return given
    if given:
        act_for(request, given)
    return principal.agent

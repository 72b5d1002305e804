"""Bearer-token authentication with roles (admin, supervisor, agent) and, for agent tokens,
the one agent they act for.

One middleware guards every route by the roles its route table entry declares
(ivr.web.route): 401 without a known token, 403 when the token's role is not among them.
Tokens and their hashes: ivr/web/tokens.py. What is addressed by agent id (the agent's
state, his screen pop, whom a filing is from) must be the token's own agent when the token
is an agent's (`act_for`, `filed_by_agent`).
"""

from aiohttp import web

from ivr.web.keys import ACCESS, PRINCIPAL, TOKENS
from ivr.web.reply import error
from ivr.web.route import Handler
from ivr.web.tokens import Principal

NO_TOKENS_HINT = " (the engine has no API tokens: see `ivr token new`)"


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let the request through to its handler when the route's roles allow its token."""
    roles = request.app[ACCESS].get(request.match_info.handler, ())
    if roles:
        principal = _principal(request)
        if principal.role not in roles:
            raise error(403, f"role {principal.role} may not do this")
        request[PRINCIPAL] = principal
    return await handler(request)


def _principal(request: web.Request) -> Principal:
    """Who the bearer token is; 401 without a known one."""
    tokens = request.app[TOKENS]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    principal = tokens.find(given.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        hint = "" if len(tokens) else NO_TOKENS_HINT
        raise error(401, f"a valid bearer token is required{hint}", {"WWW-Authenticate": "Bearer"})
    return principal


def act_for(request: web.Request, agent_id: str) -> None:
    """403 unless the (authenticated) caller may act for `agent_id`."""
    principal = request[PRINCIPAL]
    if not principal.may_act_for(agent_id):
        raise error(
            403, f"agent: this token acts for agent {principal.agent} only, not {agent_id[:64]!r}"
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

"""Bearer-token authentication with roles (admin, supervisor, agent).

Tokens come from the settings ("role:token,role:token"); every request that changes state
needs one. Tokens are compared in constant time.
"""

import hmac
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

ROLES = ("admin", "supervisor", "agent")
ROLE = web.RequestKey("role", str)  # the authenticated caller's role, for handlers
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenError(ValueError):
    """The token setting is malformed."""


def parse_tokens(spec: str) -> Mapping[str, str]:
    """token -> role from "role:token,role:token"."""
    tokens: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        role, sep, token = item.partition(":")
        if not sep or role not in ROLES or len(token) < 12:
            raise TokenError(
                f"api_tokens: expected role:token with a role in {ROLES} and a token of "
                f"12+ characters, got {role!r}:..."
            )
        tokens[token] = role
    return tokens


def require(tokens: Mapping[str, str], *roles: str) -> Callable[[Handler], Handler]:
    """Wrap a handler: 401 without a known token, 403 when its role is not allowed."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            role = None
            if scheme.lower() == "bearer":
                for token, token_role in tokens.items():
                    if hmac.compare_digest(token.encode(), given.encode()):
                        role = token_role
            if role is None:
                hint = "" if tokens else " (the engine has no API tokens: set IVR_API_TOKENS)"
                raise web.HTTPUnauthorized(
                    text=f'{{"error": "a valid bearer token is required{hint}"}}',
                    content_type="application/json",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if role not in roles:
                raise web.HTTPForbidden(
                    text=f'{{"error": "role {role} may not do this"}}',
                    content_type="application/json",
                )
            request[ROLE] = role
            return await handler(request)

        return guarded

    return wrap

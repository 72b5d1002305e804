"""The one way the web package answers in JSON: `reply` for a body, `error` for an error to
raise, `busy` for a refusal under load. Every error is {"error": "<field>: <what is
expected>"} (ivr.web.middleware turns the router's and aiohttp's own errors into that too)."""

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from aiohttp import web

from ivr.web.limits import RETRY_AFTER

_ERRORS: Mapping[int, type[web.HTTPException]] = MappingProxyType(
    {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        422: web.HTTPUnprocessableEntity,
    }
)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    """JSON text (UTF-8 as is, datetimes as ISO 8601)."""
    return json.dumps(data, default=_json_default, ensure_ascii=False)


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON response."""
    return web.json_response(data, status=status, dumps=dumps)


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.HTTPException:
    """An HTTP error (400, 401, 403, 404, 409 or 422) with a JSON body, to raise."""
    return _ERRORS[status](
        text=dumps({"error": message}), content_type="application/json", headers=headers
    )


def bad(name: str, expected: str) -> web.HTTPException:
    """400: the field `name` is not what is expected."""
    return error(400, f"{name}: {expected}")


def busy(message: str) -> web.Response:
    """503 with Retry-After: the server is at a cap, not broken."""
    response = reply({"error": message}, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def refuse(message: str, status: int) -> web.Response:
    """An error reply that closes the connection (its request body was not read whole)."""
    response = reply({"error": message}, status)
    response.force_close()
    return response

"""What one HTTP client may hold: time to send its request head and body, body size, idle
keep-alive time, and the caps on connections and on live streams (Server-Sent Events)."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

RETRY_AFTER = 5  # seconds a client refused for load is told to wait


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 10.0  # seconds from connect to the end of the request head
    keepalive_timeout: float = 15.0  # seconds an idle keep-alive connection stays open
    body_timeout: float = 30.0  # seconds to receive a request body
    max_body_bytes: int = 1024 * 1024
    max_connections: int = 1000
    max_streams: int = 200

    def within(self, connections: int) -> "HttpLimits":
        """These limits with at most `connections` connections; streams get at most half."""
        capped = min(self.max_connections, connections)
        return HttpLimits(
            self.header_timeout,
            self.keepalive_timeout,
            self.body_timeout,
            self.max_body_bytes,
            capped,
            min(self.max_streams, max(capped // 2, 1)),
        )


def busy(reply: Callable[..., web.Response], error: str) -> web.Response:
    """503 with Retry-After: the server is at a cap, not broken."""
    response = reply({"error": error}, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


class StreamSlots:
    """A cap on concurrent live streams (each holds a connection for as long as it runs)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """`with slots.hold() as admitted:` False when every slot is taken."""
        if self.active >= self.limit:
            yield False
            return
        self.active += 1
        try:
            yield True
        finally:
            self.active -= 1


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_limits(max_bytes: int, timeout: float) -> Middleware:
    """Middleware: a request body is read whole, up to `max_bytes`, within `timeout` seconds,
    before the handler runs (413 or 408 otherwise; the connection is then closed)."""

    @web.middleware
    async def read_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            if request.content_length is not None and request.content_length > max_bytes:
                return _refuse(f"body: at most {max_bytes} bytes", 413)
            try:
                async with asyncio.timeout(timeout):
                    await request.read()  # kept: json() and text() use it
            except TimeoutError:
                return _refuse(f"body: not received within {timeout:g} s", 408)
            except web.HTTPRequestEntityTooLarge:
                return _refuse(f"body: at most {max_bytes} bytes", 413)
        return await handler(request)

    return read_body


def _refuse(error: str, status: int) -> web.Response:
    response = web.json_response({"error": error}, status=status)
    response.force_close()
    return response

"""The HTTP listener: aiohttp's request handler behind a guard per connection.

aiohttp closes idle keep-alive connections but has no deadline for the request head and no
cap on connections. The guard adds both: a connection over the cap gets a 503 and is closed
at once; a connection whose first request head has not arrived within `header_timeout`
seconds is closed (later heads on a keep-alive connection are bounded by aiohttp's
keep-alive timeout, which closes a connection waiting for a complete request).
"""

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from ivr.web.limits import RETRY_AFTER

log = logging.getLogger(__name__)

LINGERING_TIME = 2.0  # seconds aiohttp reads an unread body after replying, then closes
_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")
_REFUSAL_BODY = b'{"error": "connections: too many at once; retry later"}'
_REFUSAL = b"\r\n".join(
    (
        b"HTTP/1.1 503 Service Unavailable",
        b"Content-Type: application/json",
        b"Retry-After: %d" % RETRY_AFTER,
        b"Connection: close",
        b"Content-Length: %d" % len(_REFUSAL_BODY),
        b"",
        _REFUSAL_BODY,
    )
)


class ConnectionGuard:
    """Counts the HTTP connections, refuses those over `max_connections`, and closes those
    whose request head is late."""

    def __init__(self, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.active = 0
        self.refused = 0  # since start
        self.late_heads = 0  # since start

    def factory(
        self, make_handler: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for loop.create_server around aiohttp's handler factory."""

        def make() -> asyncio.Protocol:
            if self.active >= self.max_connections:
                self.refused += 1
                return _Refused()
            self.active += 1  # counted at accept: a burst cannot overshoot the cap
            return _Guarded(make_handler(), self)

        return make


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_REFUSAL)
        transport.close()


class _Guarded(asyncio.Protocol):
    """Passes everything to aiohttp's handler; closes the connection if its head is late."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes seen, to find a head end split across reads
        self._counted = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._guard.header_timeout, self._head_late)
        self._inner.connection_made(transport)

    def _head_late(self) -> None:
        self._timer = None
        self._guard.late_heads += 1
        log.debug("HTTP request head not received within %ss: closed", self._guard.header_timeout)
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            seen = self._tail + data
            if any(end in seen for end in _HEAD_ENDS):
                self._timer.cancel()
                self._timer = None
                self._tail = b""
            else:
                self._tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._counted:
            self._counted = False
            self._guard.active -= 1
        self._transport = None
        self._inner.connection_lost(exc)


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    BACKLOG = 128  # listen backlog: the most connections accepted at once before refusal

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard
    ) -> None:
        super().__init__(runner, backlog=self.BACKLOG)
        self._host = host
        self._port = port
        self.guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose for port 0)."""
        server = self._server
        if isinstance(server, asyncio.Server) and server.sockets:
            port: int = server.sockets[0].getsockname()[1]
            return port
        return self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "the runner must be set up first"
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )

"""A TCP proxy a test controls, to put a fault between the engine and a part it depends on
(PostgreSQL, Asterisk's AMI): forward, freeze (connections stay open, nothing passes: a
silent peer), refuse (new connections refused, open ones dropped) or cut (open connections
dropped once, new ones forwarded).

It runs its own event loop in a thread, so a stalled engine loop does not stall the fault,
and listens on loopback only.
"""

import asyncio
import socket
import threading
from collections.abc import Coroutine
from enum import Enum
from typing import Any

CHUNK = 65536


class Mode(Enum):
    FORWARD = "forward"
    FREEZE = "freeze"
    REFUSE = "refuse"


class TcpProxy:
    """`with TcpProxy(upstream_port) as proxy:` then point the client at `proxy.port`."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._unfrozen = asyncio.Event()  # cleared while frozen
        self._unfrozen.set()
        self.accepted = 0  # connections accepted since start
        self.port = 0

    # --- control (from the test's thread) -----------------------------------------------

    def start(self) -> "TcpProxy":
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        self._call(self._close_all(listener=True))
        self._call(self._cancel_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def forward(self) -> None:
        """Pass bytes again (a frozen connection resumes; refused: listen again)."""
        self._call(self._set(Mode.FORWARD))

    def freeze(self) -> None:
        """Keep every connection open and pass nothing: the peer looks alive and silent."""
        self._call(self._set(Mode.FREEZE))

    def refuse(self) -> None:
        """Drop open connections and refuse new ones (the peer is down)."""
        self._call(self._set(Mode.REFUSE))

    def cut(self) -> None:
        """Drop the open connections once; new ones are forwarded as before."""
        self._call(self._close_all(listener=False))

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # --- inside the proxy's loop --------------------------------------------------------

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._serve, sock=sock)

    async def _set(self, mode: Mode) -> None:
        refused = self._server is None
        if mode is Mode.FREEZE:
            self._unfrozen.clear()
        else:
            self._unfrozen.set()
        if mode is Mode.REFUSE:
            await self._close_all(listener=True)
        elif refused:
            await self._listen()

    async def _close_all(self, listener: bool) -> None:
        if listener and self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _cancel_tasks(self) -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pumps = (self._pump(reader, up_writer), self._pump(up_reader, writer))
        await asyncio.gather(*pumps, return_exceptions=True)
        for end in (writer, up_writer):
            self._writers.discard(end)
            end.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(CHUNK):
            await self._unfrozen.wait()  # frozen: hold the bytes, keep the connection
            if writer.transport.is_closing():
                return
            writer.write(data)
            await writer.drain()
        writer.transport.abort()

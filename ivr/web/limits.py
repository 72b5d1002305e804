"""What one HTTP client may hold: time to send its request head and body, body size, idle
keep-alive time, and the caps on connections and on live streams (Server-Sent Events)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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

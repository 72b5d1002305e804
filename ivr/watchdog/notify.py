"""systemd's notification protocol (sd_notify), the few lines it takes.

A service sends `KEY=VALUE` lines in one datagram to the unix socket named by
$NOTIFY_SOCKET (a path, or '@name' in the abstract namespace): `READY=1` once it serves,
`WATCHDOG=1` at least every half of $WATCHDOG_USEC, `STOPPING=1` when it shuts down.
systemd (`Type=notify`, `WatchdogSec=`) and `ivr supervise` both listen to it.
"""

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

MAX_PING_INTERVAL = 1.0  # seconds: ping at least this often, whatever the watchdog allows


def socket_address(name: str) -> str:
    """$NOTIFY_SOCKET as an AF_UNIX address: '@name' is the abstract namespace."""
    return "\0" + name[1:] if name.startswith("@") else name


def ping_interval(env: Mapping[str, str]) -> float:
    """Seconds between WATCHDOG=1: half of $WATCHDOG_USEC (systemd's advice), at most 1 s."""
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        usec = 0
    return min(MAX_PING_INTERVAL, usec / 2e6) if usec > 0 else MAX_PING_INTERVAL


class SdNotifier:
    """Sends notifications to $NOTIFY_SOCKET; does nothing when it is not set.

    The socket is non-blocking: a watchdog that is itself stuck must never block the
    engine's event loop (the datagram is dropped, the next ping tries again)."""

    def __init__(self, name: str = "", interval: float = MAX_PING_INTERVAL) -> None:
        self.interval = interval
        self._address = socket_address(name) if name else ""
        self._sock: socket.socket | None = None
        self._failing = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SdNotifier":
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET", ""), ping_interval(env))

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *fields: str) -> bool:
        """Send `fields` (KEY=VALUE each) as one datagram; False if it could not go."""
        if not self._address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failing:  # say it once, not every second
                log.warning("watchdog: cannot notify %s: %s", self._address.lstrip("\0"), exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    async def keepalive(self) -> None:
        """Ping from the event loop until cancelled: when the loop stalls, pings stop."""
        while True:
            self.ping()
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

"""sd_notify over a real unix datagram socket."""

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from ivr.watchdog.notify import SdNotifier, ping_interval


@contextlib.contextmanager
def listening(address: str) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(2)
    try:
        yield sock
    finally:
        sock.close()


def test_messages_are_key_value_lines_in_one_datagram(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with listening(path) as sock:
        notifier = SdNotifier.from_env({"NOTIFY_SOCKET": path})
        assert notifier.enabled
        assert notifier.ready("serving")
        assert notifier.ping()
        assert notifier.stopping()
        notifier.close()
        assert sock.recv(4096) == b"READY=1\nSTATUS=serving"
        assert sock.recv(4096) == b"WATCHDOG=1"
        assert sock.recv(4096) == b"STOPPING=1"


def test_an_at_sign_names_the_abstract_namespace() -> None:
    name = f"ivr-test-notify-{os.getpid()}"
    with listening(f"\0{name}") as sock:
        notifier = SdNotifier.from_env({"NOTIFY_SOCKET": f"@{name}"})
        assert notifier.ready()
        assert sock.recv(4096) == b"READY=1"
        notifier.close()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = SdNotifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.ping()


def test_a_missing_listener_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = SdNotifier(str(tmp_path / "nobody"))
    assert not notifier.ping()
    assert not notifier.ping()


def test_a_listener_that_does_not_read_never_blocks_the_sender(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with listening(path):
        notifier = SdNotifier(path)
        sent = [notifier.ping() for _ in range(5000)]  # far past the socket's queue
        notifier.close()
    assert sent[0] and not sent[-1]


def test_ping_interval_is_half_the_watchdog_at_most_one_second() -> None:
    assert ping_interval({}) == 1.0
    assert ping_interval({"WATCHDOG_USEC": "5000000"}) == 1.0
    assert ping_interval({"WATCHDOG_USEC": "1000000"}) == 0.5
    assert ping_interval({"WATCHDOG_USEC": "junk"}) == 1.0


async def test_keepalive_pings_from_the_event_loop(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with listening(path) as sock:
        notifier = SdNotifier(path, interval=0.02)
        task = asyncio.get_running_loop().create_task(notifier.keepalive())
        await asyncio.sleep(0.15)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        notifier.close()
        sock.setblocking(False)
        pings = []
        with contextlib.suppress(BlockingIOError):
            while True:
                pings.append(sock.recv(4096))
    assert len(pings) >= 4 and set(pings) == {b"WATCHDOG=1"}

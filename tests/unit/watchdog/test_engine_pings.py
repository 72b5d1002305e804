"""`ivr serve` (no Asterisk: tests/unit/engine_process.py) speaks sd_notify: READY=1 once it
serves, WATCHDOG=1 from its event loop, none while the loop is stopped, STOPPING=1 on SIGTERM;
SIGABRT (systemd's watchdog signal) logs where the loop was."""

import itertools
import os
import resource
import signal
import socket
import time
from pathlib import Path

from tests.unit.engine_process import engine_process


def _drain(sock: socket.socket, seconds: float) -> list[tuple[float, bytes]]:
    """Every datagram for `seconds`, with its arrival time."""
    got: list[tuple[float, bytes]] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            got.append((time.monotonic(), sock.recv(4096)))
        except TimeoutError:
            break
    return got


def test_the_engine_pings_from_its_event_loop(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}  # ping every 0.5 s
        with engine_process(tmp_path, 1024, env) as engine:
            first = _drain(sock, 2.0)
            assert first[0][1] == b"READY=1\nSTATUS=serving", first
            pings = [at for at, data in first[1:] if data == b"WATCHDOG=1"]
            assert len(pings) >= 3 and len(pings) == len(first) - 1, first
            assert max(b - a for a, b in itertools.pairwise(pings)) < 0.8, pings

            os.kill(engine.process.pid, signal.SIGSTOP)  # no loop, no pings
            stalled = _drain(sock, 1.5)
            os.kill(engine.process.pid, signal.SIGCONT)
            assert len(stalled) <= 1, stalled  # one may have been on its way
            assert _drain(sock, 1.0), "pings did not resume"

            engine.process.send_signal(signal.SIGTERM)
            engine.process.wait(15)
            tail = [data for _, data in _drain(sock, 0.5)]
            assert b"STOPPING=1" in tail, tail


def test_sigabrt_logs_where_the_engine_was(tmp_path: Path) -> None:
    core = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, core[1]))  # the child inherits: no core file
    try:
        with engine_process(tmp_path, 1024) as engine:
            engine.process.send_signal(signal.SIGABRT)
            assert engine.process.wait(15) == -signal.SIGABRT
            log = engine.log()
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, core)
    assert "Fatal Python error: Aborted" in log and "Stack (most recent call first)" in log, log[
        -2000:
    ]
    assert "ivr/cli/__init__.py" in log, log[-2000:]  # the main thread: the event loop's

"""The supervisor with real child processes (tests/unit/watchdog/child.py), its watchdog
scaled down to 1 s; every wait is bounded."""

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT, ConfigError
from ivr.watchdog.supervisor import SuperviseOptions, Supervisor

CHILD = Path(__file__).with_name("child.py")
FAST = SuperviseOptions(
    watchdog=1.0, start_timeout=1.0, stop_timeout=1.0, restart_delay=0.2, max_restart_delay=0.4
)
CHILD_PING = [sys.executable, str(CHILD), "ping"]
ENV = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}


def supervisor(mode: str, options: SuperviseOptions = FAST) -> Supervisor:
    return Supervisor([sys.executable, str(CHILD), mode], options, env=ENV)


async def until(check: Callable[[], object], timeout: float) -> float:
    """Seconds until `check()` is true; fail after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"still not true after {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not alive
        return stat.read().split(") ")[1][0] != "Z"


async def test_a_child_that_stops_pinging_is_killed_and_restarted() -> None:
    # the stop at the end is a clean one: time for a loaded machine's child to exit on TERM
    sup = supervisor("ping", dataclasses.replace(FAST, stop_timeout=5.0))
    run = asyncio.get_running_loop().create_task(sup.run(handle_signals=False))
    try:
        await until(lambda: sup.pid is not None, 5)
        first = sup.pid
        assert first is not None
        await asyncio.sleep(1.5)  # pinging: nothing happens
        assert sup.kills == [] and sup.starts == 1
        os.kill(first, signal.SIGSTOP)
        noticed = await until(lambda: sup.kills, 3)
        assert 0.9 <= noticed <= 1.6, noticed
        assert sup.kills[0].startswith("sent no watchdog ping for 1.")
        await until(lambda: sup.pid not in (None, first), 3)
        assert not alive(first)
        await asyncio.sleep(1.5)  # the new child pings: it stays
        assert sup.starts == 2 and len(sup.kills) == 1
    finally:
        sup.request_stop(signal.SIGTERM)
        status = await asyncio.wait_for(run, 5)
    assert status == 0


async def test_a_child_that_never_gets_ready_is_restarted_with_growing_delays() -> None:
    sup = supervisor("mute")
    run = asyncio.get_running_loop().create_task(sup.run(handle_signals=False))
    try:
        await until(lambda: sup.starts >= 3, 8)
        assert sup.kills[:2] == ["not ready 1 s after start"] * 2
    finally:
        sup.request_stop()
        await asyncio.wait_for(run, 5)


async def test_notifications_from_another_process_do_not_count() -> None:
    sup = supervisor("foreign")
    run = asyncio.get_running_loop().create_task(sup.run(handle_signals=False))
    try:
        await until(lambda: sup.kills, 4)
        assert sup.kills == ["not ready 1 s after start"]
    finally:
        sup.request_stop()
        await asyncio.wait_for(run, 5)


async def test_a_child_that_exits_is_restarted() -> None:
    sup = supervisor("exit")
    run = asyncio.get_running_loop().create_task(sup.run(handle_signals=False))
    try:
        await until(lambda: sup.starts >= 2, 5)
        assert sup.kills == []
    finally:
        sup.request_stop()
        await asyncio.wait_for(run, 5)


async def test_a_child_that_ignores_the_stop_signal_is_killed_after_the_stop_timeout() -> None:
    sup = supervisor("deaf")
    run = asyncio.get_running_loop().create_task(sup.run(handle_signals=False))
    await until(lambda: sup.pid is not None, 5)
    await asyncio.sleep(0.5)
    pid = sup.pid
    assert pid is not None
    sup.request_stop(signal.SIGTERM)
    status = await asyncio.wait_for(run, 5)
    assert status == 128 + signal.SIGKILL
    assert sup.kills == ["did not stop within 1 s"] and sup.starts == 1
    assert not alive(pid)


async def test_a_child_that_dies_of_the_forwarded_signal_stopped_cleanly() -> None:
    sup = supervisor("plain")
    run = asyncio.get_running_loop().create_task(sup.run(handle_signals=False))
    await until(lambda: sup.pid is not None, 5)
    sup.request_stop(signal.SIGTERM)
    assert await asyncio.wait_for(run, 5) == 0
    assert sup.kills == []


async def test_a_command_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    sup = Supervisor([str(tmp_path / "no-such-engine")], FAST, env=ENV)
    with pytest.raises(ConfigError, match=r"cannot run .*no-such-engine: No such file"):
        await asyncio.wait_for(sup.run(handle_signals=False), 5)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="--watchdog must be above 0"):
        SuperviseOptions(watchdog=0)
    with pytest.raises(ConfigError, match="no command"):
        Supervisor([])


def test_ivr_supervise_forwards_sigterm_for_a_clean_stop(tmp_path: Path) -> None:
    log = tmp_path / "supervise.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ivr", "supervise", "--watchdog", "1", "--", *CHILD_PING],
            env=ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    try:
        deadline = time.monotonic() + 10
        while "is ready" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "SIGTERM received, stopping the engine" in text
    assert "stopped" in text and "SIGKILL" not in text

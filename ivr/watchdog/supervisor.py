"""`ivr supervise`: run the engine as a child; restart it when it dies or its pings stop.

The contract of systemd's `Type=notify` + `WatchdogSec=` + `Restart=always`, for docker and
hosts without systemd. The child gets $NOTIFY_SOCKET and $WATCHDOG_USEC, must send
`READY=1` within the start timeout, then `WATCHDOG=1` at least every `watchdog` seconds. A
child that stops pinging (its event loop stuck, or SIGSTOPped) is SIGKILLed with its process
group: its FastAGI sockets close, Asterisk ends the callers' AGI and the dialplan sends them
down the fallback path. Only datagrams from the child's own pid count (systemd's
`NotifyAccess=main`), read from the kernel's SCM_CREDENTIALS, not from the message.
"""

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import socket
import struct
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ivr.config import ConfigError

log = logging.getLogger(__name__)

UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class SuperviseOptions:
    watchdog: float = 5.0  # seconds without WATCHDOG=1 before the child is killed
    start_timeout: float = 90.0  # seconds from start to READY=1 (migrations included)
    stop_timeout: float = 30.0  # seconds a stopping child has before SIGKILL
    restart_delay: float = 1.0  # first delay before a restart (systemd's RestartSec)
    max_restart_delay: float = 30.0  # the delay doubles while restarts keep failing
    healthy_after: float = 60.0  # a child ready this long resets the delay

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ConfigError(f"supervise: --{name.replace('_', '-')} must be above 0")
        if self.max_restart_delay < self.restart_delay:
            raise ConfigError("supervise: --max-restart-delay is below --restart-delay")


@dataclass
class _Child:
    """One run of the child and what it has said so far."""

    process: asyncio.subprocess.Process
    started: float
    ready_at: float | None = None
    last_ping: float = 0.0
    stopping_since: float | None = None
    trigger: bool = False


class Supervisor:
    def __init__(
        self,
        command: Sequence[str],
        options: SuperviseOptions = SuperviseOptions(),
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not command:
            raise ConfigError("supervise: no command to run")
        self.command = list(command)
        self.options = options
        self._env = dict(os.environ if env is None else env)
        self._clock = clock
        self._child: _Child | None = None
        self._stop_signal: int | None = None
        self._stop = asyncio.Event()
        self.starts = 0  # children started
        self.kills: list[str] = []  # why each SIGKILL was sent

    @property
    def pid(self) -> int | None:
        """The running child's pid."""
        child = self._child
        return child.process.pid if child and child.process.returncode is None else None

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop for good: forward `signum` to the child, restart nothing."""
        if self._stop_signal is None:
            log.info("supervise: %s received, stopping the engine", signal.Signals(signum).name)
        self._stop_signal = signum
        self._stop.set()

    async def run(self, handle_signals: bool = True) -> int:
        """Run and restart the child until a stop is requested; the child's exit status."""
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self.request_stop, sig)
        try:
            with tempfile.TemporaryDirectory(prefix="ivr-supervise-") as directory:
                path = os.path.join(directory, "notify")
                with _listen(path) as sock:
                    loop.add_reader(sock.fileno(), self._receive, sock)
                    try:
                        return await self._loop(path)
                    finally:
                        loop.remove_reader(sock.fileno())
        finally:
            if handle_signals:
                for sig in STOP_SIGNALS:
                    loop.remove_signal_handler(sig)

    async def _loop(self, path: str) -> int:
        delay = self.options.restart_delay
        while True:
            status, healthy = await self._run_child(path)
            if self._stop_signal is not None:
                return status
            if healthy:
                delay = self.options.restart_delay
            log.warning("supervise: restarting the engine in %.1f s", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
                return 0  # stopped while waiting to restart
            if not healthy:
                delay = min(delay * 2, self.options.max_restart_delay)

    async def _run_child(self, path: str) -> tuple[int, bool]:
        """Start the child and watch it until it ends; (exit status, ran healthily)."""
        o = self.options
        env = self._env | {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(int(o.watchdog * 1e6))}
        env.pop("WATCHDOG_PID", None)
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command, env=env, start_new_session=True
            )
        except OSError as exc:  # a missing or unrunnable program does not mend by retrying
            raise ConfigError(f"supervise: cannot run {self.command[0]}: {exc.strerror}") from exc
        child = self._child = _Child(process, self._clock())
        self.starts += 1
        log.info("supervise: started the engine, pid %d: %s", process.pid, shlex.join(self.command))
        waiter = asyncio.get_running_loop().create_task(process.wait())
        tick = min(0.1, o.watchdog / 10)
        forwarded = False
        try:
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=tick)
                if waiter.done():
                    break
                now = self._clock()
                if self._stop_signal is not None and not forwarded:
                    forwarded = True
                    child.stopping_since = child.stopping_since or now
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, self._stop_signal)
                reason = self._kill_reason(child, now)
                if reason:
                    self._kill(child, reason)
                    await waiter
        finally:
            if not waiter.done():
                waiter.cancel()
        status = process.returncode if process.returncode is not None else -signal.SIGKILL
        healthy = child.ready_at is not None and self._clock() - child.ready_at >= o.healthy_after
        if self._stop_signal is not None and status == -self._stop_signal:  # no handler yet
            status = 0  # a clean stop all the same, as systemd counts it
        if self._stop_signal is None or status != 0:
            log.log(
                logging.INFO if self._stop_signal is not None else logging.WARNING,
                "supervise: the engine (pid %d) %s",
                process.pid,
                _describe(status),
            )
        else:
            log.info("supervise: the engine (pid %d) stopped", process.pid)
        return (128 - status if status < 0 else status), healthy

    def _kill_reason(self, child: _Child, now: float) -> str:
        o = self.options
        if child.trigger:
            return "asked to be restarted (WATCHDOG=trigger)"
        if child.stopping_since is not None:
            waited = now - child.stopping_since
            return f"did not stop within {o.stop_timeout:g} s" if waited > o.stop_timeout else ""
        if child.ready_at is None:
            late = now - child.started > o.start_timeout
            return f"not ready {o.start_timeout:g} s after start" if late else ""
        silent = now - child.last_ping
        return f"sent no watchdog ping for {silent:.1f} s" if silent > o.watchdog else ""

    def _kill(self, child: _Child, reason: str) -> None:
        pid = child.process.pid
        log.error("supervise: the engine (pid %d) %s: SIGKILL", pid, reason)
        self.kills.append(reason)
        try:  # the whole group: nothing the engine started outlives it
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except PermissionError:
            child.process.kill()

    def _receive(self, sock: socket.socket) -> None:
        """Read every pending notification; keep those from the running child."""
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(UCRED.size))
            except (BlockingIOError, InterruptedError):
                return
            sender = next(
                (
                    UCRED.unpack(cdata[: UCRED.size])[0]
                    for level, kind, cdata in ancillary
                    if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
                ),
                None,
            )
            child = self._child
            if child is None or sender != child.process.pid:
                log.warning("supervise: ignored a notification from pid %s, not the engine", sender)
                continue
            self._apply(child, data.decode("utf-8", "replace"))

    def _apply(self, child: _Child, message: str) -> None:
        now = self._clock()
        for line in message.splitlines():
            key, _, value = line.partition("=")
            if key == "READY" and value == "1" and child.ready_at is None:
                child.ready_at = child.last_ping = now
                log.info(
                    "supervise: the engine (pid %d) is ready after %.1f s; watchdog %g s",
                    child.process.pid,
                    now - child.started,
                    self.options.watchdog,
                )
            elif key == "WATCHDOG" and value == "1":
                child.last_ping = now
            elif key == "WATCHDOG" and value == "trigger":
                child.trigger = True
            elif key == "STOPPING" and value == "1" and child.stopping_since is None:
                child.stopping_since = now
                log.info("supervise: the engine (pid %d) is stopping", child.process.pid)
            elif key == "STATUS":
                log.debug("supervise: engine status: %s", value)


@contextlib.contextmanager
def _listen(path: str) -> Iterator[socket.socket]:
    """The notification socket: a datagram socket whose messages carry the sender's pid."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sock.bind(path)  # in a fresh 0700 directory: only this user can reach it
        sock.setblocking(False)
        yield sock
    finally:
        sock.close()


def _describe(status: int) -> str:
    if status < 0:
        return f"was killed by {signal.Signals(-status).name}"
    return f"exited with status {status}"

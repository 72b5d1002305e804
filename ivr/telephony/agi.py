"""FastAGI server on panoramisk 1.4, with its defects fixed in one place.

panoramisk 1.4 spins on EOF before the header's blank line, matches routes including the query
string, wraps plain functions with asyncio.coroutine (gone in 3.11), closes the socket silently
when a route is missing or raises, and reads one line per reply (a 520 usage text or an
unprompted HANGUP line desynchronises every later reply). This module keeps its classes as the
base and replaces those code paths.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from panoramisk.fast_agi import Application, Request

from ivr.tasks import TaskSet
from ivr.telephony.agi_head import AgiHead, HeadRefused, parse_head
from ivr.telephony.encoding import UnsafeValue, agi_exec_args, agi_quote
from ivr.telephony.names import VAR_STATUS

log = logging.getLogger(__name__)

AgiHandler = Callable[["AgiChannel"], Awaitable[None]]
ErrorHandler = Callable[["AgiChannel", BaseException | None], Awaitable[None]]

STATUS_ERROR = "error"
MAX_LINE_BYTES = 64 * 1024  # longest header or reply line accepted
MAX_USAGE_LINES = 500  # a 520 usage text longer than this is not Asterisk talking
MAX_UNSOLICITED_LINES = 20  # HANGUP / "100 Trying" lines accepted before one reply

_REPLY = re.compile(r"(?P<code>\d{3})(?:(?P<sep>[ -])(?P<text>.*))?")
_RESULT = re.compile(r"result=(?P<result>\S*)\s*(?P<rest>.*)")
_PARENTHESES = re.compile(r"\((?P<data>.*)\)")
_APP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9*#A-D]*")


class AgiError(Exception):
    """An AGI command failed or got no usable reply."""


class AgiHangup(AgiError):
    """The channel hung up (or the connection to Asterisk closed)."""


class AgiCommandError(AgiError):
    """Asterisk refused the command: 510 (unknown) or 520 (syntax, with the usage text)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


@dataclass(frozen=True)
class AgiReply:
    """A 200 reply: `200 result=<result> [(<data>)] [endpos=...]`."""

    code: int
    result: str
    data: str
    raw: str


def _parse_success(line: str) -> AgiReply:
    match = _RESULT.match(line[4:])
    if match is None:
        return AgiReply(code=200, result="", data="", raw=line)
    data = _PARENTHESES.search(match["rest"])
    return AgiReply(code=200, result=match["result"], data=data["data"] if data else "", raw=line)


class AgiChannel(Request):  # type: ignore[misc]
    """One FastAGI session: headers, parsed route, and the commands of the call."""

    def __init__(
        self,
        server: "FastAgiServer",
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float,
    ) -> None:
        super().__init__(server, headers, reader, writer, encoding="utf-8")
        self.headers: dict[str, str] = headers
        self.reader: asyncio.StreamReader = reader
        self.writer: asyncio.StreamWriter = writer
        self.encoding: str = "utf-8"
        self.timeout = timeout
        self.hung_up = False
        self.script = headers.get("agi_network_script", "")
        path, _, query = self.script.partition("?")
        self.route = path.strip("/")
        self.query: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
        self.args: list[str] = []
        while (arg := headers.get(f"agi_arg_{len(self.args) + 1}")) is not None:
            self.args.append(arg)
        self._lock = asyncio.Lock()  # one command on the wire at a time
        self._desynchronised = False
        self._expired = False  # a command's timer went off (the connection is aborted)
        self._deadline: float | None = None  # of the command in flight (loop time)
        self._timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<AgiChannel {self.channel_name} {self.unique_id} /{self.route}>"

    @property
    def unique_id(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    @property
    def caller_number(self) -> str:
        return self.headers.get("agi_callerid", "")

    @property
    def caller_name(self) -> str:
        return self.headers.get("agi_calleridname", "")

    @property
    def channel_name(self) -> str:
        return self.headers.get("agi_channel", "")

    @property
    def extension(self) -> str:
        return self.headers.get("agi_extension", "")

    async def send_command(self, command: str) -> AgiReply:
        """panoramisk's name for `command`."""
        return await self.command(command)

    async def command(self, line: str, timeout: float | None = None) -> AgiReply:
        """Send one raw AGI command; return its 200 reply or raise an AgiError."""
        if any(char in line for char in "\r\n\0"):
            raise UnsafeValue(f"AGI command contains CR, LF or NUL: {line!r}")
        if self._desynchronised:
            raise AgiError(
                f"{self!r}: replies are out of sync after an earlier timeout or bad reply"
            )
        limit = self.timeout if timeout is None else timeout
        async with self._lock:
            self._arm(limit)
            try:
                self.writer.write(f"{line}\n".encode(self.encoding))
                await self.writer.drain()
                return await self._read_reply()
            except (AgiError, ConnectionError) as exc:
                if self._expired:
                    raise AgiError(f"no reply to {line.split(' ', 1)[0]} within {limit}s") from None
                if isinstance(exc, AgiError):
                    raise
                self.hung_up = True
                raise AgiHangup(f"connection to Asterisk lost: {exc}") from exc
            finally:
                self._deadline = None

    # A command's time limit. Not asyncio.timeout: a timer per command costs ~5 us (its
    # Timeout object, the task's cancel/uncancel, a heap entry that lingers until its time)
    # and a GC-tracked handle; half of this stack's CPU overhead over a plain stream round
    # trip (make bench-agi). One timer per session instead, moved on only when it fires.

    def _arm(self, limit: float) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + limit
        if self._timer is None or self._deadline < self._timer.when():
            self.disarm()
            self._timer = loop.call_at(self._deadline, self._on_timer)

    def _on_timer(self) -> None:
        timer, self._timer = self._timer, None
        if self._deadline is None or timer is None:  # no command in flight
            return
        if self._deadline <= timer.when():
            self._expire()
        else:  # a later command: wait for its own deadline
            self._timer = asyncio.get_running_loop().call_at(self._deadline, self._on_timer)

    def disarm(self) -> None:
        """Drop the session's timer (it holds the channel); the server calls it at the end."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        """No reply in time. A late one would be taken for the next command's: give up on
        this session, and abort the connection, which ends the pending write or read."""
        self._expired = self._desynchronised = True
        self.writer.transport.abort()

    async def _read_line(self) -> str:
        try:
            raw = await self.reader.readline()
        except ValueError as exc:  # longer than the reader's limit
            self._desynchronised = True
            raise AgiError("AGI reply line too long") from exc
        if not raw.endswith(b"\n"):
            if self._expired:  # our own abort, not Asterisk's
                raise AgiError("connection aborted: no reply in time")
            self.hung_up = True
            raise AgiHangup("Asterisk closed the AGI connection")
        return raw.decode(self.encoding, "replace").rstrip("\r\n")

    async def _read_reply(self) -> AgiReply:
        for _ in range(MAX_UNSOLICITED_LINES + 1):
            line = await self._read_line()
            if line == "HANGUP":  # unprompted, sent when the caller hangs up (AGISIGHUP)
                self.hung_up = True
                continue
            match = _REPLY.fullmatch(line)
            if match is None:
                self._desynchronised = True
                raise AgiError(f"unexpected AGI reply line: {line!r}")
            code, text = int(match["code"]), match["text"] or ""
            if code == 100:  # "100 result=0 Trying..."
                continue
            if code == 200:
                return self._check_success(_parse_success(line))
            if code == 511:  # "Command Not Permitted on a dead channel or intercept routine"
                self.hung_up = True
                raise AgiHangup(line)
            if match["sep"] == "-":
                text = await self._read_continuation(code, text)
            raise AgiCommandError(code, text)
        # Asterisk sends one HANGUP and a few "100 Trying": a flood is not Asterisk talking.
        self._desynchronised = True
        self.writer.close()
        raise AgiHangup(f"more than {MAX_UNSOLICITED_LINES} lines before a reply")

    async def _read_continuation(self, code: int, first: str) -> str:
        """Lines of a multi-line reply (`520-...` up to `520 End of proper usage.`)."""
        lines = [first]
        final = f"{code} "
        for _ in range(MAX_USAGE_LINES):
            line = await self._read_line()
            if line.startswith(final):
                lines.append(line[len(final) :])
                return "\n".join(lines)
            lines.append(line)
        self._desynchronised = True
        raise AgiError(f"{code} reply without its final line")

    def _check_success(self, reply: AgiReply) -> AgiReply:
        if reply.data == "hangup":
            self.hung_up = True
            raise AgiHangup(reply.raw)
        if reply.result == "-1":  # failure or hangup: Asterisk does not say which
            raise AgiHangup(reply.raw)
        return reply

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {agi_quote(name)} {agi_quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        """The variable's value; None when it is not set."""
        reply = await self.command(f"GET VARIABLE {agi_quote(name)}")
        return reply.data if reply.result == "1" else None

    async def stream_file(
        self, name: str, escape_digits: str = "", *, timeout: float | None = None
    ) -> str:
        """Play a prompt; return the digit that interrupted it, or ""."""
        _check_digits(escape_digits)
        line = f"STREAM FILE {agi_quote(name)} {agi_quote(escape_digits)}"
        reply = await self.command(line, timeout)
        return _digit(reply.result)

    async def get_data(
        self, prompt: str, timeout_ms: int, max_digits: int, *, timeout: float | None = None
    ) -> str | None:
        """Play a prompt and collect digits; None on a timeout with no digit.

        `200 result=12 (timeout)` (digits, then silence) returns "12".
        """
        if timeout is None:
            timeout = self.timeout + timeout_ms / 1000 * max(max_digits, 1)
        line = f"GET DATA {agi_quote(prompt)} {int(timeout_ms)} {int(max_digits)}"
        reply = await self.command(line, timeout)
        if reply.data == "timeout" and not reply.result:
            return None
        return reply.result

    async def exec(self, app: str, *args: str, timeout: float | None = None) -> AgiReply:
        """Run a dialplan application; each argument is escaped separately."""
        if not _APP_NAME.fullmatch(app):
            raise UnsafeValue(f"invalid application name: {app!r}")
        line = f"EXEC {app} {agi_exec_args(*args)}" if args else f"EXEC {app}"
        reply = await self.command(line, timeout)
        if reply.result == "-2":
            raise AgiCommandError(200, f"application {app} not found")
        return reply

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {agi_quote(message)} {int(level)}")


def _check_digits(digits: str) -> None:
    if not _DIGITS.fullmatch(digits):
        raise UnsafeValue(f"escape digits must be DTMF digits: {digits!r}")


def _digit(result: str) -> str:
    """STREAM FILE's result is the ASCII code of the digit pressed, 0 for none."""
    code = int(result) if result.isdigit() else 0
    return chr(code) if code > 0 else ""


async def set_error_status(channel: AgiChannel, error: BaseException | None) -> None:
    """Default error boundary: tell the dialplan to take its fallback path."""
    if channel.hung_up:
        return
    try:
        await channel.set_variable(VAR_STATUS, STATUS_ERROR)
    except AgiError as exc:
        log.info("%r: could not set %s=%s: %s", channel, VAR_STATUS, STATUS_ERROR, exc)


class FastAgiServer(Application):  # type: ignore[misc]
    """FastAGI server: routes by `agi_network_script`, one tracked task per connection."""

    def __init__(
        self,
        routes: Mapping[str, AgiHandler],
        *,
        on_error: ErrorHandler = set_error_status,
        command_timeout: float = 30.0,
        header_timeout: float = 10.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(default_encoding="utf-8", loop=loop or asyncio.get_running_loop())
        self.on_error = on_error
        self.command_timeout = command_timeout
        self.header_timeout = header_timeout
        self.active = 0  # connections being served
        self._connections = TaskSet("fastagi")
        self._idle = asyncio.Event()
        self._idle.set()
        self._server: asyncio.Server | None = None
        for path, handler in routes.items():
            self.add_route(path, handler)

    def __bool__(self) -> bool:
        return True  # Application is a dict: an empty one would be falsy

    def add_route(self, path: str, endpoint: AgiHandler) -> None:
        """panoramisk's add_route wraps plain functions with asyncio.coroutine (gone in 3.11)."""
        path = path.strip("/")
        if path in self._route:
            raise ValueError(f"AGI route {path!r} already exists")
        self._route[path] = endpoint

    async def start(self, host: str, port: int, backlog: int = 4096) -> asyncio.Server:
        """Listen; a large backlog absorbs bursts without hitting Asterisk's connect timeout."""
        self._server = await asyncio.start_server(
            self._accept, host, port, backlog=backlog, limit=MAX_LINE_BYTES
        )
        return self._server

    async def close(self, grace: float = 5.0) -> None:
        """Stop listening, let in-flight calls finish for `grace` seconds, then cancel them."""
        if self._server is not None:
            self._server.close()
        if self.active:
            try:
                await asyncio.wait_for(self._idle.wait(), grace)
            except TimeoutError:
                log.warning("cancelling %d AGI session(s) still running", self.active)
        await self._connections.cancel_all()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._connections.spawn(self.handler(reader, writer), name=f"fastagi {peer}")

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        self._idle.clear()
        channel: AgiChannel | None = None
        try:
            head = await self._read_head(reader)
            if isinstance(head, HeadRefused):
                # Still answer the call: the error boundary sends it to the fallback path.
                log.warning("AGI request refused: %s", head)
                channel = AgiChannel(self, {}, reader, writer, timeout=self.command_timeout)
                await self._run_error_boundary(channel, head)
            elif head is not None:
                channel = AgiChannel(
                    self, head.headers, reader, writer, timeout=self.command_timeout
                )
                if head.cleaned:
                    log.warning("%r: unsafe characters removed from %s", channel, head.cleaned)
                await self._serve(channel)
        finally:
            if channel is not None:
                channel.disarm()
            writer.close()
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    async def _read_head(self, reader: asyncio.StreamReader) -> AgiHead | HeadRefused | None:
        """The request head up to its blank line; None if the peer never finishes it."""
        try:
            async with asyncio.timeout(self.header_timeout):
                # One read for the whole block: Asterisk writes each header line on its own.
                block = await reader.readuntil(b"\n\n")
        except asyncio.IncompleteReadError:
            log.debug("AGI connection closed before the end of its headers")
            return None
        except TimeoutError:
            log.warning("AGI headers not received within %ss", self.header_timeout)
            return None
        except (asyncio.LimitOverrunError, ValueError, ConnectionError) as exc:
            log.warning("AGI headers unreadable: %s", exc)
            return None
        try:
            return parse_head(block)
        except HeadRefused as exc:
            return exc

    async def _serve(self, channel: AgiChannel) -> None:
        handler = self._route.get(channel.route)
        if handler is None:
            log.error("no AGI route for %r (%r)", channel.script, channel)
            await self._run_error_boundary(channel, None)
            return
        try:
            await handler(channel)
        except AgiHangup as exc:
            log.info("%r: hung up: %s", channel, exc)
            await self._run_error_boundary(channel, exc)
        except Exception as exc:
            log.exception("%r: AGI handler for %r failed", channel, channel.route)
            await self._run_error_boundary(channel, exc)

    async def _run_error_boundary(self, channel: AgiChannel, error: BaseException | None) -> None:
        try:
            await self.on_error(channel, error)
        except Exception:
            log.exception("%r: AGI error boundary failed", channel)

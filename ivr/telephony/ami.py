"""AMI client on panoramisk 1.4, with its defects fixed in one place.

panoramisk 1.4 drops the connection on a "successfully queued" ack without an Async header
(KeyError in Action.multi) and on any exception raised by an event callback, never resolves
QueueAdd, runs coroutine callbacks fire-and-forget, never checks Ping replies, replays pending
actions (Originate included) after a reconnect but only once FullyBooted arrives, has no action
timeout, and decodes each TCP read on its own (a UTF-8 character split across reads is lost).
This module keeps panoramisk's Manager, AMIProtocol, Action and Message and replaces those paths.

Reading is defended and cheap per event (a burst brings thousands a second;
tests.bench.ami_ingest measures it): messages are split on CRLFCRLF only, and decoded once
per read up to the last one (so no UTF-8 character is cut); an unterminated message over
8 MiB drops the connection; an event no callback's pattern matches is dropped before it is
parsed, unless it could answer a pending action (it has an ActionID); patterns are matched
once per event name; a callback that raises is logged, never fatal. ami_message.py parses
(keys validated, a repeated header in a UserEvent refused).
"""

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

from ivr.tasks import TaskSet
from ivr.telephony.ami_message import parse_message
from ivr.telephony.encoding import UnsafeValue, ami_header, ami_variable

log = logging.getLogger(__name__)

EventCallback = Callable[[Message], Awaitable[None] | None]
ActionHeaders = Mapping[str, str | list[str]]

BANNER = b"Asterisk Call Manager/"
MESSAGE_END = b"\r\n\r\n"
MAX_BUFFER_BYTES = 8 * 1024 * 1024  # an unterminated message this long is not Asterisk talking
_ERROR_RESPONSES = frozenset({"error", "fail", "failure"})
_HEADER_NAME = re.compile(r"[A-Za-z0-9_-]+")
_DTMF_DIGIT = re.compile(r"[0-9*#A-Da-d]")
# A header that could tie a message to a pending action (panoramisk's Message.id).
_ACTION_ID = re.compile(r"\r\n(?:action|command)id:", re.IGNORECASE)
_ROUTES_CACHED = 1024  # event names whose patterns are kept


class AmiError(Exception):
    """AMI failure."""


class AmiActionError(AmiError):
    """Asterisk answered `Response: Error`; `response` is its Message."""

    def __init__(self, response: Message) -> None:
        super().__init__(response.get("Message") or f"Response: {response.get('Response')}")
        self.response = response


class AmiTimeout(AmiError):
    """No response within the timeout; the action was forgotten."""


class AmiConnectionLost(AmiError):
    """Not connected, or the connection dropped while the action was pending.

    The action is not replayed: Asterisk may or may not have run it.
    """


class _Action(actions.Action):  # type: ignore[misc]
    """Resolves on its first response unless that response announces an event list."""

    def __init__(self, headers: ActionHeaders) -> None:
        super().__init__(dict(headers))
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @property
    def multi(self) -> bool:
        # No guessing from "successfully queued" or "to queue" messages (KeyError / hang in 1.4).
        first = self.responses[0]
        return bool(
            first.get("EventList", "").lower() == "start"
            or "will follow" in first.get("Message", "").lower()
        )

    def add_message(self, message: Message) -> bool:
        """Record a response; True once complete (the action leaves the pending map)."""
        self.responses.append(message)
        if self.future.done():
            return True
        if not self.multi:
            self.future.set_result(self.responses[0])
            return True
        if len(self.responses) > 1 and _ends_event_list(message):
            self.future.set_result(list(self.responses))
            return True
        return False


def _ends_event_list(message: Message) -> bool:
    return bool(
        message.get("EventList", "").lower() == "complete"
        or message.get("Event", "").endswith("Complete")
        or message.get("SubEvent") == "End"
    )


class _Manager(Manager):  # type: ignore[misc]
    """Event registry and dispatch; the connection lifecycle belongs to AmiClient."""

    def __init__(self, callback_tasks: TaskSet, **config: Any) -> None:
        self._routes: dict[str, tuple[str, ...]] = {}  # event name -> its patterns
        super().__init__(**config)
        self.callbacks.clear()  # drop the FullyBooted -> replay-pending-actions hook
        self.patterns.clear()
        self._routes.clear()
        self._callback_tasks = callback_tasks

    def register_event(self, pattern: str, callback: EventCallback) -> EventCallback:
        self._routes.clear()
        return super().register_event(pattern, callback)  # type: ignore[no-any-return]

    def matching(self, name: str) -> tuple[str, ...]:
        """The patterns an event name matches, in registration order (kept per name)."""
        patterns = self._routes.get(name)
        if patterns is None:
            patterns = tuple(p for p, regexp in self.patterns if regexp.match(name))
            if len(self._routes) < _ROUTES_CACHED:
                self._routes[name] = patterns
        return patterns

    def dispatch(self, event: Message) -> list[str]:
        """Call every matching callback; one that raises is logged, never fatal."""
        event.manager = self
        matches = self.matching(event.get("Event", ""))
        for pattern in matches:
            for callback in self.callbacks[pattern]:
                self._call(callback, event)
        return list(matches)

    def unregister(self, pattern: str, callback: EventCallback) -> None:
        """panoramisk adds a pattern when its first callback registers and never removes
        it: a pattern emptied and registered again would dispatch every event twice."""
        callbacks = self.callbacks[pattern]
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            self.patterns[:] = [(p, r) for p, r in self.patterns if p != pattern]
            self._routes.clear()

    def _call(self, callback: EventCallback, event: Message) -> None:
        try:
            result = callback(event)
        except Exception:
            log.exception("AMI event callback %r failed on %s", callback, event.get("Event"))
            return
        if result is not None and inspect.isawaitable(result):
            self._callback_tasks.spawn(_await(result), name=f"ami event {event.get('Event')}")

    def connection_lost(self, exc: BaseException | None) -> None:
        """panoramisk reconnects from here; AmiClient's supervisor does it instead."""


async def _await(awaitable: Awaitable[None]) -> None:
    await awaitable


class _Protocol(AMIProtocol):  # type: ignore[misc]
    """AMI framing on bytes; pending actions fail (not replay) when the connection drops."""

    def __init__(self, manager: _Manager, on_lost: Callable[[], None]) -> None:
        super().__init__()
        self.manager = manager
        self._on_lost = on_lost
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.version: str | None = None  # from the banner
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self.manager
        self.encoding = "utf-8"
        self.log = log

    def send(self, data: _Action, as_list: bool | None = None) -> asyncio.Future[Any]:
        if self.lost.done() or self.transport.is_closing():
            raise AmiConnectionLost("AMI connection closed")
        return super().send(data, as_list=as_list)  # type: ignore[no-any-return]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self.version is None and not self._read_banner():
            return
        # Every complete message at once: decoded up to the last CRLFCRLF (ASCII, so no
        # UTF-8 character is cut), split on CRLFCRLF only. The new bytes and the 3 before
        # them are searched: a long message is not searched again on every read.
        end = self._buffer.rfind(MESSAGE_END, max(0, len(self._buffer) - len(data) - 3))
        if end >= 0:
            text = self._buffer[:end].decode("utf-8", "replace")
            del self._buffer[: end + len(MESSAGE_END)]
            for part in text.split("\r\n\r\n"):
                self._receive(part.strip("\r\n"))
        if len(self._buffer) > MAX_BUFFER_BYTES:
            log.error(
                "AMI message longer than %d bytes: dropping the connection", len(self._buffer)
            )
            self.transport.abort()

    def _read_banner(self) -> bool:
        """The banner line, read off the buffer; False until it is complete."""
        if b"\r\n" not in self._buffer:
            return False
        if self._buffer.startswith(BANNER):
            line, _, _ = bytes(self._buffer).partition(b"\r\n")
            self.version = line[len(BANNER) :].decode("ascii", "replace").strip()
            del self._buffer[: len(line) + 2]
        else:
            self.version = ""
        return True

    def _receive(self, text: str) -> None:
        if text and self._wanted(text):
            message = parse_message(text)
            if message is not None:
                self.handle_message(message)

    def _wanted(self, text: str) -> bool:
        """False for an event no callback reads and no pending action waits for (it has
        no ActionID): it is dropped before it is parsed. Shutdown is always read."""
        if not text.startswith("Event: "):
            return True
        eol = text.find("\r\n")
        name = text[7:eol] if eol >= 0 else text[7:]
        if name == "Shutdown" or self.manager.matching(name):
            return True
        return bool(self.responses) and _ACTION_ID.search(text) is not None

    def handle_message(self, message: Message) -> None:
        if not self.responses:  # nothing pending: no lookup by id
            action = None
        else:
            action = self.responses.get(message.id)
            if action is None and message.action_id:
                action = self.responses.get(message.action_id)
        if action is not None and "Event" in message and not action.responses:
            action = None  # an event (e.g. OriginateResponse) that overtook the action's ack
        if action is not None:
            try:
                complete = action.add_message(message)
            except Exception as exc:
                log.exception("AMI response handling failed for %s", action.get("Action"))
                if not action.future.done():
                    action.future.set_exception(AmiError(f"bad response: {exc}"))
                complete = True
            if complete:
                self.forget(action)
        elif "Event" in message:
            self.manager.dispatch(message)
            if message.get("Event") == "Shutdown":
                self.transport.close()
        else:
            log.debug("AMI response for no pending action: %r", message)

    def forget(self, action: _Action) -> None:
        for key in (action.id, action.action_id):
            if self.responses.get(key) is action:
                del self.responses[key]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        pending = {id(action): action for action in self.responses.values()}
        self.responses.clear()
        for action in pending.values():
            if not action.future.done():
                action.future.set_exception(AmiConnectionLost("AMI connection lost"))
        if not self.lost.done():
            self.lost.set_result(None)
            self._on_lost()

    def close(self) -> None:
        """panoramisk queues pending actions for replay here; they fail in connection_lost."""
        self.transport.close()


class AmiClient:
    """AMI session that logs in, keeps itself alive with Ping, and reconnects."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ping_interval: float = 10.0,
        action_timeout: float = 5.0,
        reconnect_delay: float = 1.0,
        events: str = "on",
    ) -> None:
        self.host = host
        self._events = ami_header(events)  # Login's event mask: "on", "off" or classes
        self.port = port
        self._username = ami_header(username)
        self._secret = ami_header(secret)
        self.ping_interval = ping_interval
        self.action_timeout = action_timeout
        self.reconnect_delay = reconnect_delay
        self._subscriptions: list[tuple[str, EventCallback]] = []
        self._manager: _Manager | None = None
        self._protocol: _Protocol | None = None
        self._connected = asyncio.Event()
        self._first_login: asyncio.Future[None] | None = None
        self._last_error: Exception | None = None
        self._supervisor = TaskSet("ami connection")
        self._callback_tasks = TaskSet("ami callbacks")

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def connect(self, wait: float | None = 10.0) -> None:
        """Start the session. Wait up to `wait` seconds (None: no limit, 0: do not wait)
        for the first login; raise AmiError if it is refused or does not happen in time."""
        if self._manager is not None:
            raise AmiError("AmiClient.connect() called twice")
        loop = asyncio.get_running_loop()
        self._manager = _Manager(
            self._callback_tasks, loop=loop, host=self.host, port=self.port, encoding="utf-8"
        )
        for pattern, callback in self._subscriptions:
            self._manager.register_event(pattern, callback)
        self._first_login = loop.create_future()
        self._supervisor.spawn(self._run(self._manager), name=f"ami {self.host}:{self.port}")
        if wait == 0:
            return
        try:
            async with asyncio.timeout(wait):
                await self._first_login
        except TimeoutError:
            await self.close()
            raise AmiError(
                f"AMI {self.host}:{self.port}: no login within {wait}s ({self._last_error!r})"
            ) from None
        except AmiError:
            await self.close()
            raise

    async def wait_connected(self, timeout: float | None = None) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            raise AmiTimeout(f"AMI not connected within {timeout}s") from None

    async def close(self) -> None:
        await self._supervisor.cancel_all()
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None
        self._connected.clear()
        await self._callback_tasks.cancel_all()
        self._manager = None

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call `callback(event)` for events whose name matches the fnmatch `pattern`.

        Coroutine callbacks run as tracked tasks; exceptions are logged, never fatal.
        """
        self._subscriptions.append((pattern, callback))
        if self._manager is not None:
            self._manager.register_event(pattern, callback)

    def off_event(self, pattern: str, callback: EventCallback) -> None:
        """Stop calling a callback registered with on_event."""
        self._subscriptions.remove((pattern, callback))
        if self._manager is not None:
            self._manager.unregister(pattern, callback)

    async def send(
        self, action: ActionHeaders, timeout: float | None = None
    ) -> Message | list[Message]:
        """Send an action; return its response (or the messages of an event list)."""
        headers = _encode_headers(action)
        protocol = self._protocol
        if protocol is None or not self.connected:
            raise AmiConnectionLost(f"not connected to AMI {self.host}:{self.port}")
        return await _send_on(protocol, headers, self._timeout(timeout))

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: str = "1",
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30000,
        async_: bool = True,
        action_id: str | None = None,
        channel_ids: tuple[str, str] | None = None,
        reply_timeout: float | None = None,
    ) -> Message:
        """Originate a call. With async_ the ack returns at once (within `reply_timeout`,
        default the client's action timeout) and the outcome arrives as an
        OriginateResponse event (same ActionID); without it, when the call is answered.
        `channel_ids`: the uniqueids of the channel and of a Local channel's other half
        (ChannelId, OtherChannelId)."""
        headers: dict[str, str | list[str]] = {
            "Action": "Originate",
            "Channel": channel,
            "Timeout": str(int(timeout_ms)),
            "Async": "true" if async_ else "false",
        }
        if application is not None:
            headers["Application"] = application
            if data is not None:
                headers["Data"] = data
        elif context is not None and exten is not None:
            headers.update(Context=context, Exten=exten, Priority=priority)
        else:
            raise ValueError("originate needs an application or a context and an extension")
        if caller_id is not None:
            headers["CallerID"] = caller_id
        if variables:
            headers["Variable"] = [ami_variable(name, value) for name, value in variables.items()]
        if action_id is not None:
            headers["ActionID"] = action_id
        if channel_ids is not None:
            headers["ChannelId"], headers["OtherChannelId"] = channel_ids
        timeout = reply_timeout if async_ else timeout_ms / 1000 + self.action_timeout
        return _single(await self.send(headers, timeout))

    async def user_event(self, name: str, **fields: str) -> Message:
        """Emit `Event: UserEvent` with `UserEvent: name` and the fields as headers."""
        reserved = {"action", "actionid", "userevent"} & {key.lower() for key in fields}
        if reserved:
            raise UnsafeValue(f"UserEvent fields may not be named {sorted(reserved)}")
        return _single(await self.send({"Action": "UserEvent", "UserEvent": name, **fields}))

    async def getvar(self, variable: str, channel: str = "") -> str:
        """A channel's variable or function (or a global one without `channel`); "" if unset."""
        headers = {"Action": "Getvar", "Variable": variable}
        if channel:
            headers["Channel"] = channel
        return str(_single(await self.send(headers)).get("Value") or "")

    async def hangup(self, channel: str) -> Message:
        return _single(await self.send({"Action": "Hangup", "Channel": channel}))

    async def play_dtmf(
        self, channel: str, digit: str, receive: bool = False, duration_ms: int | None = None
    ) -> Message:
        if not _DTMF_DIGIT.fullmatch(digit):
            raise UnsafeValue(f"not a DTMF digit: {digit!r}")
        headers = {"Action": "PlayDTMF", "Channel": channel, "Digit": digit}
        if receive:
            headers["Receive"] = "true"
        if duration_ms is not None:
            headers["Duration"] = str(int(duration_ms))
        return _single(await self.send(headers))

    async def command(self, cli: str) -> str:
        """Run a CLI command; return its output."""
        response = _single(await self.send({"Action": "Command", "Command": cli}))
        output = response.get("Output")  # Asterisk 14+: one Output header per line
        if isinstance(output, list):
            return "\n".join(output)
        if output is not None:
            return str(output)
        return str(response.content).removesuffix("--END COMMAND--").rstrip()

    def _timeout(self, timeout: float | None) -> float:
        return self.action_timeout if timeout is None else timeout

    async def _run(self, manager: _Manager) -> None:
        """Connect, log in, ping until the connection drops; repeat until closed."""
        while True:
            try:
                protocol = await self._open_session(manager)
            except Exception as exc:
                self._last_error = exc
                log.warning("AMI %s:%s: %s", self.host, self.port, exc or type(exc).__name__)
                if isinstance(exc, AmiActionError) and self._first_login is not None:
                    if not self._first_login.done():
                        self._first_login.set_exception(AmiError(f"AMI login refused: {exc}"))
                await asyncio.sleep(self.reconnect_delay)
                continue
            self._protocol = protocol
            self._connected.set()
            if self._first_login is not None and not self._first_login.done():
                self._first_login.set_result(None)
            log.info("AMI %s:%s: logged in (%s)", self.host, self.port, protocol.version)
            try:
                await self._keep_alive(protocol)
            finally:
                self._connected.clear()
                protocol.close()
            log.warning("AMI %s:%s: connection lost", self.host, self.port)
            await asyncio.sleep(self.reconnect_delay)

    async def _open_session(self, manager: _Manager) -> _Protocol:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.action_timeout):
            _, protocol = await loop.create_connection(
                lambda: _Protocol(manager, on_lost=self._connected.clear), self.host, self.port
            )
        login = {
            "Action": "Login",
            "Username": self._username,
            "Secret": self._secret,
            "Events": self._events,
        }
        try:
            await _send_on(protocol, login, self.action_timeout)
        except BaseException:
            protocol.close()
            raise
        return protocol

    async def _keep_alive(self, protocol: _Protocol) -> None:
        """Return when the connection drops or stops answering Ping (half-open peer)."""
        while True:
            done, _ = await asyncio.wait({protocol.lost}, timeout=self.ping_interval)
            if done:
                return
            try:
                await _send_on(protocol, {"Action": "Ping"}, self.action_timeout)
            except AmiTimeout:
                log.warning("AMI %s:%s: no reply to Ping", self.host, self.port)
                protocol.transport.abort()
                return
            except AmiConnectionLost:
                return
            except AmiError as exc:  # refused or unreadable: the peer still talks
                log.warning("AMI %s:%s: Ping failed: %s", self.host, self.port, exc)


async def _send_on(
    protocol: _Protocol, headers: ActionHeaders, timeout: float
) -> Message | list[Message]:
    action = _Action(headers)
    future = protocol.send(action)
    try:
        async with asyncio.timeout(timeout):
            response = await future
    except TimeoutError:
        raise AmiTimeout(f"no response to {action.get('Action')} within {timeout}s") from None
    finally:
        protocol.forget(action)
    first = response[0] if isinstance(response, list) else response
    if first.get("Response", "").lower() in _ERROR_RESPONSES:
        raise AmiActionError(first)
    return response


def _encode_headers(action: ActionHeaders) -> dict[str, str | list[str]]:
    if not any(name.lower() == "action" for name in action):
        raise ValueError(f"AMI action without an Action header: {dict(action)!r}")
    encoded: dict[str, str | list[str]] = {}
    for name, value in action.items():
        if not _HEADER_NAME.fullmatch(name):
            raise UnsafeValue(f"invalid AMI header name: {name!r}")
        encoded[name] = (
            [ami_header(v) for v in value] if isinstance(value, list) else ami_header(value)
        )
    return encoded


def _single(response: Message | list[Message]) -> Message:
    return response[0] if isinstance(response, list) else response

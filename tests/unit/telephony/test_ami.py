"""AmiClient against a fake AMI server over loopback TCP (each panoramisk defect has a test)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ivr.telephony.ami import (
    AmiActionError,
    AmiClient,
    AmiConnectionLost,
    AmiError,
    AmiTimeout,
)
from ivr.telephony.encoding import UnsafeValue

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telephony"
STEP = 3.0  # seconds any single step may take before the test fails
SECRET = "s3cret"

Headers = dict[str, list[str]]
Handler = Callable[["FakeSession", Headers], None]


# the messages of a QueueStatus reply's event list, in order
QUEUE_STATUS_LIST = ["Success", "QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete"]


def trace_messages(name: str) -> list[str]:
    """The messages of a fixture trace (LF lines, blank line between messages)."""
    lines = [line for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]
    text = "\n".join(line for line in lines if not line.startswith("#"))
    return [message.strip("\n") for message in text.split("\n\n") if message.strip()]


def first(headers: Headers, name: str) -> str:
    return headers[name][0]


class FakeSession:
    """One client connection to the fake AMI server."""

    def __init__(self, index: int, writer: asyncio.StreamWriter) -> None:
        self.index = index
        self.writer = writer

    def send(self, message: str, action_id: str = "") -> None:
        """Send one message written with LF line ends; `{ActionID}` is filled in."""
        text = message.replace("{ActionID}", action_id).strip("\n")
        self.writer.write((text.replace("\n", "\r\n") + "\r\n\r\n").encode())

    def reply(self, headers: Headers, response: str = "Success", **fields: str) -> None:
        lines = [f"Response: {response}", f"ActionID: {first(headers, 'ActionID')}"]
        lines += [f"{name}: {value}" for name, value in fields.items()]
        self.send("\n".join(lines))

    def drop(self) -> None:
        self.writer.close()


class FakeAmi:
    """Asterisk's side of AMI: banner, CRLF header lines, a blank line ends a message.

    Answers Login and Ping; other actions go to `handlers` (no handler: no reply).
    It never sends FullyBooted: the client must not need it.
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.actions: list[Headers] = []
        self.sessions: list[FakeSession] = []
        self.logins = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in self.sessions:
            session.drop()

    def received(self, action: str) -> list[Headers]:
        return [h for h in self.actions if first(h, "Action").lower() == action.lower()]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = FakeSession(len(self.sessions), writer)
        self.sessions.append(session)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while (headers := await self._read_message(reader)) is not None:
                self.actions.append(headers)
                name = first(headers, "Action").lower()
                handler = self.handlers.get(name) or getattr(self, f"_on_{name}", None)
                if handler is not None:
                    handler(session, headers)
        except ConnectionError:
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> Headers | None:
        headers: Headers = {}
        while line := await reader.readline():
            text = line.decode().removesuffix("\r\n")
            if not text:
                return headers
            name, _, value = text.partition(": ")
            headers.setdefault(name, []).append(value)
        return None

    def _on_login(self, session: FakeSession, headers: Headers) -> None:
        if first(headers, "Secret") == SECRET:
            self.logins += 1
            session.reply(headers, Message="Authentication accepted")
        else:
            session.reply(headers, "Error", Message="Authentication failed")

    def _on_ping(self, session: FakeSession, headers: Headers) -> None:
        session.reply(headers, Ping="Pong", Timestamp="1700000000.000000")


Connect = Callable[..., Awaitable[AmiClient]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def connect(fake: FakeAmi) -> AsyncIterator[Connect]:
    clients: list[AmiClient] = []

    async def open_client(**options: Any) -> AmiClient:
        options.setdefault("secret", SECRET)
        client = AmiClient("127.0.0.1", fake.port, "ivr", options.pop("secret"), **options)
        clients.append(client)
        await client.connect(wait=STEP)
        return client

    yield open_client
    for client in clients:
        await client.close()


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(STEP):
        while not condition():  # noqa: ASYNC110 - polling state the test does not own
            await asyncio.sleep(0.01)


def pending_actions(client: AmiClient) -> dict[str, Any]:
    assert client._protocol is not None
    return dict(client._protocol.responses)


# --- 1. "successfully queued" acks ---------------------------------------------------------

ACKS = dict(
    zip(
        ["originate", "playdtmf", "atxfer", "queueadd"],
        trace_messages("ami_acks.trace"),
        strict=True,
    )
)


def ack_with(message: str) -> Handler:
    return lambda session, headers: session.send(message, first(headers, "ActionID"))


async def test_successfully_queued_acks_resolve(fake: FakeAmi, connect: Connect) -> None:
    for action, message in ACKS.items():
        fake.handlers[action] = ack_with(message)
    client = await connect()
    originated = await client.originate(
        "PJSIP/agent1",
        context="ivr-test-caller",
        exten="hold",
        async_=False,
        caller_id='"Иванов, Пётр" <36301234567>',
        variables={"IVR_CALLER": 'Иванов, Пётр "Ген"', "IVR_LINE": "0612345678"},
    )
    dtmf = await client.play_dtmf("PJSIP/trunk-00000001", "5", receive=True, duration_ms=250)
    atxfer = await client.send(
        {"Action": "Atxfer", "Channel": "PJSIP/agent1-1", "Exten": "200", "Context": "x"}
    )
    assert originated["Message"] == "Originate successfully queued"
    assert dtmf["Message"] == "DTMF successfully queued"
    assert not isinstance(atxfer, list) and atxfer["Message"] == "Atxfer successfully queued"
    assert client.connected and fake.logins == 1  # panoramisk 1.4 dropped the connection here
    [sent] = fake.received("Originate")
    assert sent["Async"] == ["false"]
    assert sent["Variable"] == ['IVR_CALLER=Иванов\\, Пётр \\"Ген\\"', "IVR_LINE=0612345678"]
    assert sent["CallerID"] == ['"Иванов, Пётр" <36301234567>']
    [sent] = fake.received("PlayDTMF")
    assert (sent["Digit"], sent["Receive"], sent["Duration"]) == (["5"], ["true"], ["250"])


@pytest.mark.parametrize("event_first", [False, True])
async def test_async_originate_resolves_on_ack_and_dispatches_the_outcome(
    fake: FakeAmi, connect: Connect, event_first: bool
) -> None:
    ack, outcome = trace_messages("ami_originate_async.trace")

    def originate(session: FakeSession, headers: Headers) -> None:
        action_id = first(headers, "ActionID")
        for message in (outcome, ack) if event_first else (ack, outcome):
            session.send(message, action_id)

    fake.handlers["originate"] = originate
    client = await connect()
    outcomes: list[Any] = []
    client.on_event("OriginateResponse", outcomes.append)
    response = await client.originate(
        "PJSIP/agent1",
        application="Playback",
        data="tt-monkeys",
        action_id="orig-1",
        channel_ids=("call-1-c", "call-1-o"),
    )
    assert response["Message"] == "Originate successfully queued"
    await eventually(lambda: len(outcomes) == 1)
    assert outcomes[0]["ActionID"] == "orig-1"
    assert outcomes[0]["CallerIDName"] == "Иванов"
    [sent] = fake.received("Originate")
    assert (sent["Async"], sent["Application"], sent["Data"]) == (
        ["true"],
        ["Playback"],
        ["tt-monkeys"],
    )
    assert (sent["ChannelId"], sent["OtherChannelId"]) == (["call-1-c"], ["call-1-o"])


# --- 2. QueueAdd ---------------------------------------------------------------------------


async def test_queue_add_resolves(fake: FakeAmi, connect: Connect) -> None:
    fake.handlers["queueadd"] = ack_with(ACKS["queueadd"])
    client = await connect()
    response = await client.send(
        {"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/agent1"}, timeout=1
    )
    assert not isinstance(response, list)
    assert response["Message"] == "Added interface to queue"


# --- 3. and 4. event callbacks -------------------------------------------------------------

USER_EVENT = "Event: UserEvent\nPrivilege: user,all\nUserEvent: IvrFallback\nLine: {ActionID}"


async def test_raising_sync_callback_keeps_the_connection(
    fake: FakeAmi, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect()
    lines: list[str] = []

    def broken(event: Any) -> None:
        raise RuntimeError("callback bug")

    client.on_event("UserEvent", broken)
    client.on_event("User*", lambda event: lines.append(event["Line"]))
    fake.sessions[0].send(USER_EVENT, "061")
    fake.sessions[0].send(USER_EVENT, "062")
    await eventually(lambda: len(lines) == 2)
    assert lines == ["061", "062"]
    assert "callback bug" in caplog.text
    assert client.connected and fake.logins == 1
    assert not isinstance(pong := await client.send({"Action": "Ping"}), list)
    assert pong["Ping"] == "Pong"


async def test_coroutine_callbacks_are_tracked(
    fake: FakeAmi, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect()
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def broken(event: Any) -> None:
        raise RuntimeError("async callback bug")

    async def slow(event: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    client.on_event("UserEvent", broken)
    client.on_event("UserEvent", slow)
    fake.sessions[0].send(USER_EVENT, "061")
    await asyncio.wait_for(started.wait(), STEP)
    await eventually(lambda: "async callback bug" in caplog.text)
    assert client.connected
    await client.close()  # a tracked task is cancelled, not leaked
    assert cancelled == [True]


async def test_utf8_split_across_reads(fake: FakeAmi, connect: Connect) -> None:
    client = await connect()
    names: list[str] = []
    client.on_event("UserEvent", lambda event: names.append(event["Name"]))
    raw = "Event: UserEvent\r\nUserEvent: X\r\nName: Пётр Őrs\r\n\r\n".encode()
    cut = raw.index("ё".encode()) + 1
    writer = fake.sessions[0].writer
    writer.write(raw[:cut])
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(raw[cut:])
    await eventually(lambda: len(names) == 1)
    assert names == ["Пётр Őrs"]


async def test_a_pattern_registered_again_dispatches_once(fake: FakeAmi, connect: Connect) -> None:
    """panoramisk keeps a pattern after its last callback goes; registering it again must
    not make every event arrive twice (two test calls in a row on one client did)."""
    client = await connect()
    seen: list[str] = []

    def first(event: Any) -> None:
        seen.append("first")

    client.on_event("*", first)
    client.off_event("*", first)
    client.on_event("*", lambda event: seen.append(event["UserEvent"]))
    writer = fake.sessions[0].writer
    writer.write(
        b"Event: UserEvent\r\nUserEvent: X\r\n\r\nEvent: UserEvent\r\nUserEvent: Y\r\n\r\n"
    )
    await eventually(lambda: len(seen) >= 2)
    await asyncio.sleep(0.05)
    assert seen == ["X", "Y"]


async def test_a_message_end_split_across_reads(fake: FakeAmi, connect: Connect) -> None:
    client = await connect()
    seen: list[str] = []
    client.on_event("UserEvent", lambda event: seen.append(event["UserEvent"]))
    writer = fake.sessions[0].writer
    for part in (b"Event: UserEvent\r\nUserEvent: A\r\n\r", b"\n\r\nEvent: UserEvent", b"\r\n"):
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(0.05)
    assert seen == ["A"]
    writer.write(b"UserEvent: B\r\n\r\n")
    await eventually(lambda: seen == ["A", "B"])


async def test_an_event_nobody_reads_is_dropped_until_a_callback_wants_it(
    fake: FakeAmi, connect: Connect
) -> None:
    client = await connect()
    seen: list[str] = []
    client.on_event("Queue*", lambda event: seen.append(event["Event"]))
    writer = fake.sessions[0].writer
    writer.write(b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\nEvent: QueueCallerJoin\r\n\r\n")
    await eventually(lambda: seen == ["QueueCallerJoin"])
    client.on_event("Hang*", lambda event: seen.append(event["Uniqueid"]))
    writer.write(b"Event: Hangup\r\nUniqueid: 1.2\r\n\r\n")
    await eventually(lambda: seen == ["QueueCallerJoin", "1.2"])


async def test_an_event_list_nobody_subscribed_to_still_resolves(
    fake: FakeAmi, connect: Connect
) -> None:
    messages = trace_messages("ami_queue_status.trace")

    def queue_status(session: FakeSession, headers: Headers) -> None:
        session.send("Event: QueueMember\nQueue: other")  # not this action's: dropped
        for message in messages:
            session.send(message, first(headers, "ActionID"))

    fake.handlers["queuestatus"] = queue_status
    client = await connect()
    response = await client.send({"Action": "QueueStatus", "Queue": "support"})
    assert isinstance(response, list)
    assert [m.get("Event", m.get("Response")) for m in response] == QUEUE_STATUS_LIST


async def test_shutdown_closes_the_connection_without_a_callback(
    fake: FakeAmi, connect: Connect
) -> None:
    client = await connect(reconnect_delay=0.05)
    fake.sessions[0].send("Event: Shutdown\nShutdown: Uncleanly\nRestart: True")
    await eventually(lambda: fake.logins == 2 and client.connected)


# --- 5. reconnect --------------------------------------------------------------------------


async def test_reconnect_fails_pending_actions_without_replaying_them(
    fake: FakeAmi, connect: Connect
) -> None:
    fake.handlers["originate"] = lambda session, headers: session.drop()
    client = await connect(reconnect_delay=0.05)
    with pytest.raises(AmiConnectionLost):
        await client.originate("PJSIP/agent1", context="c", exten="s", action_id="orig-2")
    await client.wait_connected(STEP)
    assert fake.logins == 2
    response = await client.send({"Action": "Ping"})
    assert not isinstance(response, list) and response["Ping"] == "Pong"
    assert len(fake.received("Originate")) == 1  # never replayed after the reconnect
    assert pending_actions(client) == {}


async def test_reconnect_after_server_restart(fake: FakeAmi, connect: Connect) -> None:
    client = await connect(reconnect_delay=0.05)
    fake.sessions[0].drop()
    await eventually(lambda: fake.logins == 2 and client.connected)
    await client.send({"Action": "Ping"})


# --- 6. half-open peer ---------------------------------------------------------------------


async def test_half_open_peer_detected_by_ping(fake: FakeAmi, connect: Connect) -> None:
    def ping(session: FakeSession, headers: Headers) -> None:
        if session.index > 0:  # the first connection accepts TCP but stops answering
            session.reply(headers, Ping="Pong")

    fake.handlers["ping"] = ping
    client = await connect(ping_interval=0.2, action_timeout=0.2, reconnect_delay=0.05)
    await eventually(lambda: fake.logins == 2 and client.connected)
    await asyncio.sleep(0.5)  # pings answered now: no further reconnect
    assert fake.logins == 2
    assert len(fake.received("Ping")) >= 3


# --- 7. timeouts ---------------------------------------------------------------------------


async def test_action_timeout_forgets_the_action(fake: FakeAmi, connect: Connect) -> None:
    client = await connect()
    with pytest.raises(AmiTimeout, match="Status"):
        await client.send({"Action": "Status"}, timeout=0.1)
    assert pending_actions(client) == {}
    assert client.connected


# --- 8. event lists ------------------------------------------------------------------------


async def test_event_list_resolves_to_its_messages(fake: FakeAmi, connect: Connect) -> None:
    messages = trace_messages("ami_queue_status.trace")

    def queue_status(session: FakeSession, headers: Headers) -> None:
        for message in messages:
            session.send(message, first(headers, "ActionID"))

    fake.handlers["queuestatus"] = queue_status
    client = await connect()
    dispatched: list[Any] = []
    client.on_event("Queue*", dispatched.append)
    response = await client.send({"Action": "QueueStatus", "Queue": "support"})
    assert isinstance(response, list)
    assert [m.get("Event", m.get("Response")) for m in response] == QUEUE_STATUS_LIST
    assert response[3]["CallerIDName"] == 'Иванов, Пётр "Ген"'
    assert dispatched == []
    assert pending_actions(client) == {}


# --- errors, encoding, connection ----------------------------------------------------------


async def test_error_response_raises(fake: FakeAmi, connect: Connect) -> None:
    fake.handlers["hangup"] = lambda s, h: s.reply(h, "Error", Message="No such channel")
    client = await connect()
    with pytest.raises(AmiActionError, match="No such channel") as raised:
        await client.hangup("PJSIP/gone-00000001")
    assert raised.value.response["Response"] == "Error"


async def test_header_values_encoded(fake: FakeAmi, connect: Connect) -> None:
    fake.handlers["userevent"] = lambda s, h: s.reply(h, Message="Event Sent")
    client = await connect()
    await client.user_event("IvrRoute", Caller='Иванов, Пётр "Ген"', Queue="support")
    with pytest.raises(UnsafeValue):
        await client.user_event("IvrRoute", Caller="x\r\nAction: Hangup")
    with pytest.raises(UnsafeValue):
        await client.user_event("IvrRoute", Action="Hangup")
    with pytest.raises(UnsafeValue):
        await client.send({"Action": "Hangup", "Channel: x\r\nY": "z"})
    with pytest.raises(UnsafeValue):
        await client.send({"Action": "Originate", "Variable": ["A=1", "B=2\nAction: Hangup"]})
    with pytest.raises(UnsafeValue):
        await client.originate("PJSIP/x", context="c", exten="s", variables={"A B": "1"})
    await client.send({"Action": "Ping"})  # in sync: nothing unsafe was sent
    [sent] = fake.received("UserEvent")
    assert sent["UserEvent"] == ["IvrRoute"]
    assert sent["Caller"] == ['Иванов, Пётр "Ген"']
    assert sent["Queue"] == ["support"]
    assert fake.received("Hangup") == fake.received("Originate") == []


async def test_command_output(fake: FakeAmi, connect: Connect) -> None:
    def command(session: FakeSession, headers: Headers) -> None:
        output = "Output: Asterisk 22.10.1 built by root\nOutput: second line"
        message = (
            f"Response: Success\nActionID: {{ActionID}}\nMessage: Command output follows\n{output}"
        )
        session.send(message, first(headers, "ActionID"))

    fake.handlers["command"] = command
    client = await connect()
    assert (
        await client.command("core show version") == "Asterisk 22.10.1 built by root\nsecond line"
    )
    assert fake.received("Command")[0]["Command"] == ["core show version"]


async def test_login_refused(fake: FakeAmi, connect: Connect) -> None:
    with pytest.raises(AmiError, match="Authentication failed"):
        async with asyncio.timeout(1):  # refused at once, not after connect's wait
            await connect(secret="wrong")


async def test_no_server(unused_tcp_port: int) -> None:
    client = AmiClient("127.0.0.1", unused_tcp_port, "ivr", SECRET, reconnect_delay=0.05)
    with pytest.raises(AmiError, match=r"no login within 0\.3s"):
        await client.connect(wait=0.3)
    assert not client.connected


async def test_send_when_not_connected() -> None:
    client = AmiClient("127.0.0.1", 1, "ivr", SECRET)
    with pytest.raises(AmiConnectionLost):
        await client.send({"Action": "Ping"})
    with pytest.raises(AmiTimeout):
        await client.wait_connected(0.01)

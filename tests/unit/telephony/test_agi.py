"""FastAgiServer against a fake Asterisk over loopback TCP (each panoramisk defect has a test)."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from weakref import ref

import pytest

from ivr.telephony.agi import (
    AgiChannel,
    AgiCommandError,
    AgiError,
    AgiHandler,
    AgiHangup,
    AgiReply,
    FastAgiServer,
)
from ivr.telephony.encoding import UnsafeValue

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telephony"
STEP = 2.0  # seconds any single step may take before the test fails

Serve = Callable[..., Awaitable[tuple[FastAgiServer, int]]]


def headers(script: str, **extra: str) -> str:
    fields = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_channel": "PJSIP/trunk-00000001",
        "agi_uniqueid": "1700000000.1",
        "agi_callerid": "36301234567",
        "agi_calleridname": "Test",
        "agi_extension": "0612345678",
        **extra,
    }
    return "".join(f"{name}: {value}\n" for name, value in fields.items()) + "\n"


class FakeAsterisk:
    """Asterisk's side of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, text: str = "") -> "FakeAsterisk":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        fake = cls(reader, writer)
        fake.send(text)
        return fake

    def send(self, text: str) -> None:
        self.writer.write(text.encode())

    async def expect(self, command: str, *reply: str) -> None:
        line = await asyncio.wait_for(self.reader.readline(), STEP)
        assert line.decode() == f"{command}\n"
        self.send("".join(f"{part}\n" for part in reply))

    async def expect_eof(self) -> None:
        assert await asyncio.wait_for(self.reader.read(), STEP) == b""

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def replay(self, trace: str) -> None:
        """Play a trace: send the `<<` lines, check the engine sends the `>>` lines."""
        for line in (FIXTURES / trace).read_text(encoding="utf-8").splitlines():
            if line.startswith("<<"):
                self.send(line[3:] + "\n")
            elif line.startswith(">>"):
                await self.expect(line[3:])
        await self.expect_eof()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[FastAgiServer] = []

    async def start(
        routes: Mapping[str, AgiHandler], **options: float
    ) -> tuple[FastAgiServer, int]:
        server = FastAgiServer(routes, **options)  # type: ignore[arg-type]
        listening = await server.start("127.0.0.1", 0)
        servers.append(server)
        return server, listening.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        await server.close(grace=0)


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(STEP):
        while not condition():  # noqa: ASYNC110 - polling state the test does not own
            await asyncio.sleep(0.01)


async def expect_call(channel: AgiChannel, command: str) -> object:
    """Run one command and return its reply or the exception it raised."""
    try:
        return await channel.command(command)
    except AgiError as exc:
        return exc


# --- 1. EOF before the header's blank line -------------------------------------------------


async def test_port_probe_and_half_header_do_not_stall_the_server(serve: Serve) -> None:
    served: list[str] = []

    async def inbound(channel: AgiChannel) -> None:
        served.append(channel.unique_id)
        await channel.answer()

    server, port = await serve({"inbound": inbound})
    async with asyncio.timeout(STEP):
        probe = await FakeAsterisk.open(port)
        await probe.close()
        half = await FakeAsterisk.open(port, "agi_network: yes\nagi_network_script: inb")
        await half.close()
        asterisk = await FakeAsterisk.open(port, headers("inbound"))
        await asterisk.expect("ANSWER", "200 result=0")
        await asterisk.expect_eof()
    assert served == ["1700000000.1"]
    await eventually(lambda: server.active == 0)


async def test_silent_connection_closed_after_header_timeout(serve: Serve) -> None:
    _, port = await serve({}, header_timeout=0.1)
    silent = await FakeAsterisk.open(port, "agi_network: yes\n")
    await silent.expect_eof()


async def test_absurd_header_refused(serve: Serve) -> None:
    _, port = await serve({})
    flood = await FakeAsterisk.open(port, "agi_x: y\n" * 10_000)  # past the 64 KiB limit
    await flood.expect_eof()


async def test_too_many_header_lines_refused_into_the_fallback(serve: Serve) -> None:
    _, port = await serve({})
    many = await FakeAsterisk.open(port, "".join(f"agi_x{n}: y\n" for n in range(1000)) + "\n")
    await many.expect(REFUSED, "200 result=1")
    await many.expect_eof()


# --- header smuggling: only LF ends a header ---------------------------------------------

REFUSED = 'SET VARIABLE "IVR_STATUS" "error"'  # the dialplan's fallback takes the call
# Every character str.splitlines() also splits on.
SMUGGLERS = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", SMUGGLERS, ids=[f"U+{ord(c):04X}" for c in SMUGGLERS])
@pytest.mark.parametrize("field", ["agi_calleridname", "agi_callerid"])
async def test_a_line_separator_in_caller_text_cannot_forge_a_header(
    serve: Serve, char: str, field: str
) -> None:
    seen: list[dict[str, str]] = []

    async def inbound(channel: AgiChannel) -> None:
        seen.append(dict(channel.headers))
        await channel.answer()

    _, port = await serve({"inbound": inbound})
    forged = f"Bob{char}agi_callerid: 380441234567{char}agi_uniqueid: 1.999{char}agi_x"
    asterisk = await FakeAsterisk.open(port, headers("inbound", **{field: forged}))
    await asterisk.expect("ANSWER", "200 result=0")
    await asterisk.expect_eof()

    got = seen[0]
    assert got["agi_uniqueid"] == "1700000000.1"
    if field == "agi_calleridname":
        assert got["agi_callerid"] == "36301234567"
    assert got[field] == "Bob\ufffdagi_callerid: 380441234567\ufffdagi_uniqueid: 1.999\ufffdagi_x"
    assert "agi_x" not in got


@pytest.mark.parametrize(
    "head",
    [
        # A LF inside the name (not possible over SIP) forges a header that repeats one.
        "agi_callerid: 36301234567\nagi_calleridname: Bob\nagi_callerid: 380441234567\n",
        "agi_callerid: 1\nagi_callerid: 2\n",
        "agi_network_script inbound\n",  # no colon
        "Agi_Callerid: 1\n",  # not Asterisk's spelling
        "agi_uniqueid: 1.1 2\n",  # the journal key must be one word
        f"agi_uniqueid: {'9' * 151}\n",  # longer than Asterisk's AST_MAX_UNIQUEID
        "agi_channel: PJSIP/a\u2028b\n",
    ],
)
async def test_a_head_that_cannot_be_trusted_takes_the_fallback(serve: Serve, head: str) -> None:
    served: list[str] = []

    async def inbound(channel: AgiChannel) -> None:
        served.append(channel.unique_id)

    _, port = await serve({"inbound": inbound})
    text = f"agi_network: yes\nagi_network_script: inbound\n{head}\n"
    asterisk = await FakeAsterisk.open(port, text)
    await asterisk.expect(REFUSED, "200 result=1")
    await asterisk.expect_eof()
    assert served == []


async def test_caller_text_is_cut_to_its_limit(serve: Serve) -> None:
    seen: list[AgiChannel] = []

    async def inbound(channel: AgiChannel) -> None:
        seen.append(channel)

    _, port = await serve({"inbound": inbound})
    long = headers("inbound", agi_callerid="3" * 3000, agi_calleridname="Я" * 500)
    asterisk = await FakeAsterisk.open(port, long)
    await asterisk.expect_eof()
    assert seen[0].caller_number == "3" * 80
    assert seen[0].caller_name == "Я" * 80


async def test_a_flood_of_unsolicited_lines_ends_the_session(serve: Serve) -> None:
    results: list[object] = []

    async def inbound(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))

    _, port = await serve({"inbound": inbound})
    asterisk = await FakeAsterisk.open(port, headers("inbound"))
    await asterisk.expect("ANSWER", *["HANGUP"] * 10_000, "200 result=0")
    # The engine closes the session instead of reading on (the rest of the flood: a reset).
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(STEP):
            await asterisk.reader.read()
    assert isinstance(results[0], AgiHangup)
    assert "lines before a reply" in str(results[0])


async def test_one_hangup_line_before_the_reply_is_read_past(serve: Serve) -> None:
    results: list[object] = []

    async def inbound(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))

    _, port = await serve({"inbound": inbound})
    asterisk = await FakeAsterisk.open(port, headers("inbound"))
    await asterisk.expect("ANSWER", "HANGUP", "100 result=0 Trying...", "200 result=0")
    await asterisk.expect_eof()
    assert isinstance(results[0], AgiReply) and results[0].result == "0"


# --- 2. routes, query string, arguments, headers -------------------------------------------


async def test_inbound_call_trace(serve: Serve) -> None:
    seen: dict[str, object] = {}

    async def inbound(channel: AgiChannel) -> None:
        seen.update(
            route=channel.route,
            query=channel.query,
            args=channel.args,
            name=channel.caller_name,
            number=channel.caller_number,
            channel=channel.channel_name,
            exten=channel.extension,
            uid=channel.unique_id,
            accountcode=channel.headers["agi_accountcode"],
        )
        await channel.answer()
        await channel.verbose(f"ivr: {channel.caller_name}", level=3)
        seen["welcome"] = await channel.stream_file("ivr/welcome", escape_digits="12")
        seen["menu"] = await channel.stream_file("ivr/menu")
        seen["partial"] = await channel.get_data("ivr/enter-account", 3000, 8)
        seen["nothing"] = await channel.get_data("ivr/enter-account", 3000, 8)
        seen["line"] = await channel.get_variable("IVR_LINE")
        seen["unset"] = await channel.get_variable("IVR_UNSET")
        reply = await channel.exec("UserEvent", "IvrRoute", f"Caller: {channel.caller_name}")
        seen["exec"] = reply
        await channel.set_variable("IVR_STATUS", "ok")

    _, port = await serve({"inbound": inbound})
    asterisk = await FakeAsterisk.open(port)
    await asterisk.replay("agi_inbound_call.trace")
    assert seen == {
        "route": "inbound",
        "query": {"lang": "hu", "note": "te st"},
        "args": ["0612345678", "Árvíztűrő"],
        "name": 'Иванов, Пётр "Ген"',
        "number": "36301234567",
        "channel": "PJSIP/trunk-00000001",
        "exten": "0612345678",
        "uid": "1700000000.1",
        "accountcode": "",
        "welcome": "2",
        "menu": "",
        "partial": "1234",
        "nothing": None,
        "line": "0612345678",
        "unset": None,
        "exec": AgiReply(code=200, result="0", data="", raw="200 result=0"),
    }


async def test_nested_route_with_query(serve: Serve) -> None:
    routes: list[str] = []

    async def start(channel: AgiChannel) -> None:
        routes.append(f"{channel.route} {channel.query}")

    _, port = await serve({"/calls/start": start})
    asterisk = await FakeAsterisk.open(port, headers("calls/start?a=1&b=x"))
    await asterisk.expect_eof()
    assert routes == ["calls/start {'a': '1', 'b': 'x'}"]


async def test_utf8_caller_name_split_across_writes(serve: Serve) -> None:
    names: list[str] = []

    async def inbound(channel: AgiChannel) -> None:
        names.append(channel.caller_name)

    _, port = await serve({"inbound": inbound})
    raw = headers("inbound", agi_calleridname="Пётр Őrs").encode()
    cut = raw.index("ё".encode()) + 1  # in the middle of a two-byte character
    asterisk = await FakeAsterisk.open(port)
    asterisk.writer.write(raw[:cut])
    await asterisk.writer.drain()
    await asyncio.sleep(0.05)
    asterisk.writer.write(raw[cut:])
    await asterisk.expect_eof()
    assert names == ["Пётр Őrs"]


# --- 3. error boundary ---------------------------------------------------------------------


async def test_missing_route_sets_error_status(serve: Serve) -> None:
    _, port = await serve({"inbound": lambda channel: asyncio.sleep(0)})
    asterisk = await FakeAsterisk.open(port, headers("nowhere?x=1"))
    await asterisk.expect('SET VARIABLE "IVR_STATUS" "error"', "200 result=1")
    await asterisk.expect_eof()


async def test_raising_handler_sets_error_status(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    async def inbound(channel: AgiChannel) -> None:
        await channel.answer()
        raise RuntimeError("flow bug")

    _, port = await serve({"inbound": inbound})
    asterisk = await FakeAsterisk.open(port, headers("inbound"))
    await asterisk.expect("ANSWER", "200 result=0")
    await asterisk.expect('SET VARIABLE "IVR_STATUS" "error"', "200 result=1")
    await asterisk.expect_eof()
    assert "flow bug" in caplog.text


async def test_custom_error_boundary_gets_the_exception(serve: Serve) -> None:
    errors: list[BaseException | None] = []
    boom = ValueError("boom")

    async def on_error(channel: AgiChannel, error: BaseException | None) -> None:
        errors.append(error)

    async def inbound(channel: AgiChannel) -> None:
        raise boom

    server = FastAgiServer({"inbound": inbound}, on_error=on_error)
    port = (await server.start("127.0.0.1", 0)).sockets[0].getsockname()[1]
    try:
        for script in ("inbound", "missing"):
            asterisk = await FakeAsterisk.open(port, headers(script))
            await asterisk.expect_eof()
    finally:
        await server.close()
    assert errors == [boom, None]


async def test_no_error_status_on_a_dead_channel(serve: Serve) -> None:
    async def inbound(channel: AgiChannel) -> None:
        await channel.answer()

    _, port = await serve({"inbound": inbound})
    asterisk = await FakeAsterisk.open(port, headers("inbound"))
    await asterisk.expect(
        "ANSWER", "511 Command Not Permitted on a dead channel or intercept routine"
    )
    await asterisk.expect_eof()


# --- 4. multi-line 520 ---------------------------------------------------------------------


async def test_520_usage_read_to_its_end(serve: Serve) -> None:
    results: list[object] = []

    async def usage(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "STREAM FILE"))
        results.append(await channel.get_variable("IVR_LINE"))

    _, port = await serve({"usage": usage})
    asterisk = await FakeAsterisk.open(port)
    await asterisk.replay("agi_520_usage.trace")
    error, line = results
    assert isinstance(error, AgiCommandError)
    assert error.code == 520
    assert error.text.startswith("Invalid command syntax.  Proper usage follows:\nUsage: STREAM")
    assert error.text.endswith("disconnected.\nEnd of proper usage.")
    assert line == "0612345678"


# --- 5. unprompted HANGUP ------------------------------------------------------------------


async def test_unprompted_hangup_line_skipped(serve: Serve) -> None:
    results: list[object] = []

    async def sighup(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.set_variable("IVR_PATH", "main:1")
        results.append(channel.hung_up)
        results.append(await expect_call(channel, 'GET VARIABLE "IVR_LINE"'))

    _, port = await serve({"sighup": sighup})
    asterisk = await FakeAsterisk.open(port)
    await asterisk.replay("agi_sighup.trace")
    hung_up, error = results
    assert hung_up is True
    assert isinstance(error, AgiHangup)


# --- 6. reply codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (["200 result=-1"], AgiHangup),
        (["200 result=-1 endpos=0"], AgiHangup),
        (["200 result=0 (hangup)"], AgiHangup),
        (["511 Command Not Permitted on a dead channel"], AgiHangup),
        (["510 Invalid or unknown command"], AgiCommandError),
        (["520 Invalid command syntax.  Proper usage not available."], AgiCommandError),
        (["100 result=0 Trying...", "200 result=0"], AgiReply),
        (["garbage"], AgiError),
    ],
)
async def test_reply_codes(serve: Serve, reply: list[str], expected: type) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))

    _, port = await serve({"r": route}, on_error=lambda channel, error: asyncio.sleep(0))
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER", *reply)
    await asterisk.expect_eof()
    assert type(results[0]) is expected


async def test_connection_closed_mid_command_is_a_hangup(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))
        results.append(channel.hung_up)

    _, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER")
    asterisk.send("200 res")  # half a reply, then the socket closes
    await asterisk.close()
    await eventually(lambda: len(results) == 2)
    assert isinstance(results[0], AgiHangup)
    assert results[1] is True


async def test_510_reply_code_kept(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        try:
            await channel.command("NOPE")
        except AgiCommandError as exc:
            results.append(exc)
            raise

    _, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("NOPE", "510 Invalid or unknown command")
    await asterisk.expect('SET VARIABLE "IVR_STATUS" "error"', "200 result=1")
    await asterisk.expect_eof()
    error = results[0]
    assert isinstance(error, AgiCommandError)
    assert (error.code, error.text) == (510, "Invalid or unknown command")


# --- helpers and their encoding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=0", None),
        ("200 result=1 ()", ""),
        ("200 result=1 (Иванов (офис))", "Иванов (офис)"),
    ],
)
async def test_get_variable(serve: Serve, reply: str, expected: str | None) -> None:
    values: list[str | None] = []

    async def route(channel: AgiChannel) -> None:
        values.append(await channel.get_variable("CALLERID(name)"))

    _, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect('GET VARIABLE "CALLERID(name)"', reply)
    await asterisk.expect_eof()
    assert values == [expected]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result=123", "123"),
        ("200 result=", ""),
        ("200 result= (timeout)", None),
        ("200 result=12 (timeout)", "12"),
    ],
)
async def test_get_data(serve: Serve, reply: str, expected: str | None) -> None:
    values: list[str | None] = []

    async def route(channel: AgiChannel) -> None:
        values.append(await channel.get_data("beep", 5000, 3))

    _, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect('GET DATA "beep" 5000 3', reply)
    await asterisk.expect_eof()
    assert values == [expected]


async def test_hostile_values_encoded(serve: Serve) -> None:
    async def route(channel: AgiChannel) -> None:
        await channel.set_variable("CALLER", 'x" "y\\')
        await channel.exec("NoOp", "${SHELL(id)}")

    _, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect('SET VARIABLE "CALLER" "x\\" \\"y\\\\"', "200 result=1")
    # the UnsafeValue reaches the error boundary; nothing else is sent
    await asterisk.expect('SET VARIABLE "IVR_STATUS" "error"', "200 result=1")
    await asterisk.expect_eof()


async def test_unsafe_command_and_unknown_application_refused(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        for attempt in (
            channel.command("VERBOSE x\nHANGUP"),
            channel.exec("No Op"),
            channel.stream_file("x", escape_digits="1 2"),
            channel.exec("Nope"),
        ):
            try:
                await attempt
            except (UnsafeValue, AgiCommandError) as exc:
                results.append(type(exc))

    _, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("EXEC Nope", "200 result=-2")
    await asterisk.expect_eof()
    assert results == [UnsafeValue, UnsafeValue, UnsafeValue, AgiCommandError]


# --- timeouts, shutdown, concurrency -------------------------------------------------------


async def test_command_timeout(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))
        results.append(await expect_call(channel, "ANSWER"))

    _, port = await serve({"r": route}, command_timeout=0.1)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER")  # never answered
    await asterisk.expect_eof()
    first, second = results
    assert type(first) is AgiError and "within 0.1s" in str(first)
    assert type(second) is AgiError and "out of sync" in str(second)


async def test_timeout_aborts_the_session_without_calling_it_a_hangup(serve: Serve) -> None:
    states: list[tuple[bool, str]] = []

    async def route(channel: AgiChannel) -> None:
        reply = await expect_call(channel, "ANSWER")
        states.append((channel.hung_up, str(reply)))

    _, port = await serve({"r": route}, command_timeout=0.05)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER")
    await asterisk.expect_eof()  # aborted at the timeout, before the route returned
    await asyncio.sleep(0.05)
    assert states == [(False, "no reply to ANSWER within 0.05s")]


async def test_reply_in_time_disarms_the_timer(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))
        await asyncio.sleep(0.1)  # past the first command's limit: its timer must be gone
        results.append(await expect_call(channel, "NOOP"))

    _, port = await serve({"r": route}, command_timeout=0.05)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER", "200 result=0")
    await asterisk.expect("NOOP", "200 result=0")
    await asterisk.expect_eof()
    assert [type(r) for r in results] == [AgiReply, AgiReply]


async def test_a_later_command_keeps_its_own_limit(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await expect_call(channel, "ANSWER"))
        # still running when the first command's 0.05 s limit falls due
        results.append(await channel.command("EXEC Wait 0.15", timeout=STEP))

    _, port = await serve({"r": route}, command_timeout=0.05)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER", "200 result=0")
    await asterisk.expect("EXEC Wait 0.15")
    await asyncio.sleep(0.15)
    asterisk.send("200 result=0\n")
    await asterisk.expect_eof()
    assert [type(r) for r in results] == [AgiReply, AgiReply]


async def test_a_shorter_limit_after_a_longer_one_applies(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await channel.command("ANSWER", timeout=STEP))
        results.append(await expect_call(channel, "NOOP"))

    _, port = await serve({"r": route}, command_timeout=0.05)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER", "200 result=0")
    await asterisk.expect("NOOP")  # never answered
    started = asyncio.get_running_loop().time()
    await asterisk.expect_eof()
    assert asyncio.get_running_loop().time() - started < STEP / 2
    assert str(results[1]) == "no reply to NOOP within 0.05s"


async def test_the_session_timer_ends_with_the_session(serve: Serve) -> None:
    channels: list[ref[AgiChannel]] = []

    async def route(channel: AgiChannel) -> None:
        channels.append(ref(channel))
        await channel.answer()

    server, port = await serve({"r": route}, command_timeout=STEP)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER", "200 result=0")
    await asterisk.expect_eof()
    await server.close(grace=STEP)  # the session is over
    gc.collect()
    assert channels[0]() is None  # no timer keeps it for STEP seconds


async def test_per_command_timeout_overrides_default(serve: Serve) -> None:
    results: list[object] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await channel.command("EXEC Wait 0.3", timeout=STEP))

    _, port = await serve({"r": route}, command_timeout=0.05)
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("EXEC Wait 0.3")
    await asyncio.sleep(0.2)
    asterisk.send("200 result=0\n")
    await asterisk.expect_eof()
    assert results == [AgiReply(code=200, result="0", data="", raw="200 result=0")]


async def test_close_waits_then_cancels_in_flight_calls(serve: Serve) -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def route(channel: AgiChannel) -> None:
        started.set()
        try:
            await channel.answer()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    server, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asyncio.wait_for(started.wait(), STEP)
    assert server.active == 1
    await server.close(grace=0.1)
    assert cancelled == [True]
    assert server.active == 0
    await asterisk.expect("ANSWER")
    await asterisk.expect_eof()
    with pytest.raises(OSError):
        await FakeAsterisk.open(port)


async def test_close_lets_quick_calls_finish(serve: Serve) -> None:
    finished: list[str] = []

    async def route(channel: AgiChannel) -> None:
        await channel.answer()
        finished.append(channel.unique_id)

    server, port = await serve({"r": route})
    asterisk = await FakeAsterisk.open(port, headers("r"))
    await asterisk.expect("ANSWER")
    closing = asyncio.create_task(server.close(grace=STEP))
    await asyncio.sleep(0.05)
    asterisk.send("200 result=0\n")
    await asyncio.wait_for(closing, STEP)
    assert finished == ["1700000000.1"]


async def test_burst_of_simultaneous_calls(serve: Serve) -> None:
    calls = 300
    served: list[str] = []

    async def route(channel: AgiChannel) -> None:
        await channel.answer()
        served.append(channel.unique_id)

    _, port = await serve({"r": route})

    async def call(number: int) -> None:
        asterisk = await FakeAsterisk.open(port, headers("r", agi_uniqueid=str(number)))
        await asterisk.expect("ANSWER", "200 result=0")
        await asterisk.expect_eof()
        await asterisk.close()

    async with asyncio.timeout(10):
        await asyncio.gather(*(call(number) for number in range(calls)))
    assert sorted(served, key=int) == [str(number) for number in range(calls)]


async def test_constructed_inside_the_running_loop(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    server = FastAgiServer({})
    assert server.loop is asyncio.get_running_loop()
    assert server  # panoramisk's Application is a dict: an empty one would be falsy
    with pytest.raises(ValueError, match="already exists"):
        server.add_route("x", lambda channel: asyncio.sleep(0))
        server.add_route("/x", lambda channel: asyncio.sleep(0))
    await server.close()

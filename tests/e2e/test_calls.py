"""Calls through the real Asterisk: DID -> FastAGI engine -> menu -> route -> Queue()."""

import asyncio
from pathlib import Path

from ivr.app import Engine
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.calls.tester import set_global
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import engine_settings, journal_row, started


async def test_new_connection_caller_is_routed_with_priority(
    engine: Engine, tester: AmiClient
) -> None:
    report = await place_call(tester, "5552000", "+380441234567", ["1"], timeout=30)

    assert report.via == "engine", report.summary()
    assert report.path == "hours:1>menu:1"
    assert (report.queue, report.caller_class, report.priority) == (
        "connections",
        "new_connection",
        "10",
    )
    assert report.queued_in == "connections"
    assert report.dtmf_sent == ["1"]


async def test_two_level_menu_reaches_tv_queue(engine: Engine, tester: AmiClient) -> None:
    # A subscriber recognised by his number: never asked for his contract.
    report = await place_call(tester, "5551000", "+380441234567", ["2", "2"], timeout=30)

    assert report.via == "engine", report.summary()
    assert report.path == (
        "hours:1>menu:2>support:support>identify:found>outage:none>service_menu:2"
    )
    assert (report.queued_in, report.priority) == ("tv", "5")


async def test_call_is_journaled_off_the_call_path(engine: Engine, tester: AmiClient) -> None:
    report = await place_call(tester, "5551000", "+380322220003", ["2", "-", "-", "1"], timeout=60)
    assert report.ok, report.summary()
    row = await journal_row(engine, report.call_id)
    assert row is not None
    assert (row.line, row.caller, row.queue, row.priority) == (
        "5551000",
        "+380322220003",
        "internet",
        5,
    )
    assert row.menu_path == (
        "hours:1>menu:2>support:support>identify:not_found>ask_contract:timeout>outage:none"
        ">service_menu:1"
    )
    assert row.queued_at is not None and row.ended_at is not None


async def test_engine_down_takes_fallback_and_still_queues(
    sandbox: object, tester: AmiClient
) -> None:
    report = await place_call(tester, "5551000", "+380441234569", ["1"], timeout=30)

    assert report.via == "fallback", report.summary()
    assert report.fallback_reason.startswith("FAILURE")
    assert report.queued_in == "first_line"
    assert report.dtmf_sent == []


async def test_engine_error_takes_fallback_and_is_journaled(
    sandbox: object, settings: object, tester: AmiClient, tmp_path: Path
) -> None:

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "lines.yaml").write_text("default_flow: broken\nlines: []\n")
    (flows / "prompts.yaml").write_text("languages: [en]\nprompts:\n  beep: {sound: beep}\n")
    # A meter reading with no reading and no subscriber: the step fails (an engine error).
    (flows / "broken.yaml").write_text(
        "name: broken\nstart: m\nnodes:\n  m: {type: meter_reading, reading: reading, next: r}\n"
        "  r: {type: route, queue: internet, class: existing_service}\n"
    )
    engine = await started(engine_settings(settings, tmp_path, flows_dir=str(flows)))  # type: ignore[arg-type]
    try:
        report = await place_call(tester, "5551000", "+380441234570", [], timeout=30)
        row = await journal_row(engine, report.call_id)
    finally:
        await engine.stop()

    assert report.via == "fallback", report.summary()
    assert report.fallback_reason == "SUCCESS/error"
    assert report.queued_in == "first_line"
    assert row is not None and row.fell_back and row.queue == "first_line"


async def test_hostile_caller_id_is_routed_and_stored_verbatim(
    engine: Engine, tester: AmiClient
) -> None:
    name = 'Іван "Петро", ${SHELL(id)} $[1+1] \\ Ködmön'
    number = "0441234567"
    report = await place_call(tester, "5552000", number, ["1"], caller_name=name, timeout=30)
    row = await journal_row(engine, report.call_id)

    assert report.via == "engine", report.summary()
    assert report.queued_in == "connections"
    assert row is not None and row.caller == number and row.queue == "connections"


async def test_hung_engine_hits_the_deadline_and_falls_back(
    sandbox: object, tester: AmiClient
) -> None:
    """FastAGI has no read timeout: a server that accepts and never answers would hold the
    caller forever without the dialplan's absolute deadline."""
    held: list[asyncio.StreamWriter] = []

    async def accept_and_hang(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept_and_hang, "127.0.0.1", 4573)
    await set_global(tester, "IVR_AGI_DEADLINE", "2")
    try:
        report = await place_call(tester, "5551000", "+380441234571", ["1"], timeout=30)
    finally:
        await set_global(tester, "IVR_AGI_DEADLINE", "300")
        server.close()
        for writer in held:
            writer.close()

    assert held, "Asterisk never connected to the hung engine"
    assert report.via == "fallback", report.summary()
    assert report.fallback_reason.startswith("TIMEOUT")
    assert report.queued_in == "first_line"
    assert 2 <= report.seconds < 15

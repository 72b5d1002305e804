"""The shipped flows on the real Asterisk: DTMF through menus with spoken prompts, retries
and timeouts, self-service that stores what the caller gave, and hot reload during calls."""

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.app import Engine
from ivr.config import Settings
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.storage.db import make_session_factory
from ivr.storage.reports import ReportRepository
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import engine_settings, eventually, flows_copy, started

KYIV_SUBSCRIBER = "+380441234567"  # contract 10000001 in data/demo-store.yaml
STRANGER = "+380990001122"


async def reports(engine: Engine) -> ReportRepository:
    await engine.reports.flush()
    return ReportRepository(make_session_factory(engine.db))


async def test_retries_and_timeout_then_a_meter_reading_is_stored(
    engine: Engine, tester: AmiClient
) -> None:
    # An invalid key (7) hears "invalid" and the menu again; silence (-) times out and the
    # menu asks once more; 3 = meter readings; the reading ends with #.
    report = await place_call(
        tester, "5551000", KYIV_SUBSCRIBER, ["7", "-", "3", "04321#"], timeout=90
    )

    assert report.self_served, report.summary()
    assert report.path == (
        "hours:1>menu:3>meter:meter>identify:found>ask_reading:ok>save:recorded>goodbye:hangup"
    )
    assert report.prompts_waited == 4
    [reading] = (await reports(engine)).meter_readings(contract="10000001")
    assert (reading.reading, reading.line, reading.call_id) == ("04321", "5551000", report.call_id)


async def test_unreachable_number_report_is_stored_against_that_line(
    engine: Engine, tester: AmiClient
) -> None:
    # 4 = report a number; the number; 3 = advert; 1 = dialled from this phone; 2 = no operator.
    report = await place_call(
        tester, "5551000", STRANGER, ["4", "5553000#", "3", "1", "2"], timeout=90
    )

    assert report.self_served, report.summary()
    repository = await reports(engine)
    [stored] = repository.unreachable_reports(line="5553000")
    assert (stored.via_line, stored.published, stored.problem) == (
        "5551000",
        "advert",
        "no_operator",
    )
    assert stored.dialled_from == STRANGER.lstrip("+") or stored.dialled_from == STRANGER
    assert stored.call_id == report.call_id
    assert repository.unreachable_by_line() == [("5553000", 1)]


async def test_outside_hours_the_caller_gets_self_service_not_a_queue(
    sandbox: object, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    closed = flows_copy(tmp_path, operators='{mon-sat: "08:00-22:00"}, holidays: closed')
    calendar = closed / "calendar.yaml"
    # No day has operators: every call is outside hours, whenever the test runs.
    calendar.write_text(
        calendar.read_text(encoding="utf-8").replace(
            'operators: {mon-sat: "08:00-22:00"}, holidays: closed',
            'operators: {sun: "00:00-00:01"}',
        ),
        encoding="utf-8",
    )
    engine = await started(engine_settings(settings, tmp_path, flows_dir=str(closed)))
    try:
        report = await place_call(tester, "5551000", KYIV_SUBSCRIBER, ["2"], timeout=90)
        repository = await reports(engine)
        callbacks = repository.callbacks()
    finally:
        await engine.stop()

    assert report.self_served, report.summary()
    assert report.path.startswith("hours:else>after_hours:closed>menu:2>callback:requested")
    assert report.queued_in == ""
    [callback] = callbacks
    assert (callback.phone, callback.queue) == (KYIV_SUBSCRIBER, "first_line")
    # operators work Sundays 00:00-00:01 only: not dialled before the next of them
    assert callback.language == "uk"  # the line's (the default)
    first = callback.next_attempt_at
    assert first is not None and callback.promised_by is not None
    local = first.astimezone(ZoneInfo("Europe/Kyiv"))
    assert (local.weekday(), local.hour, local.minute) == (6, 0, 0), local
    assert timedelta(0) < first - callback.created_at <= timedelta(days=7)
    assert callback.promised_by > first


async def test_hot_reload_during_calls(
    engine: Engine, tester: AmiClient, caplog: pytest.LogCaptureFixture
) -> None:
    support = Path(engine.settings.flows_dir) / "support.yaml"
    original = support.read_text(encoding="utf-8")
    old_library = engine.flows
    # Call A starts on the old flows: 2 (support), then 2 = TV.
    call_a = asyncio.create_task(place_call(tester, "5551000", KYIV_SUBSCRIBER, ["2", "2"]))
    await eventually(lambda: engine.agi is not None and engine.agi.active == 1)

    # While A listens to the welcome, a supervisor sends TV callers to the extra queue.
    support.write_text(original.replace('"2": tv', '"2": extra'), encoding="utf-8")
    await eventually(lambda: engine.flows is not old_library)
    assert engine.agi is not None and engine.agi.active == 1  # A is still in the menu

    call_b = await place_call(tester, "5551000", KYIV_SUBSCRIBER, ["2", "2"])
    report_a: CallReport = await call_a
    assert report_a.queued_in == "tv", report_a.summary()  # finished on the flow it started on
    assert call_b.queued_in == "extra", call_b.summary()  # new calls take the new flow

    # A broken edit is rejected, logged, and the last good flows keep serving.
    good_library = engine.flows
    with caplog.at_level(logging.ERROR, logger="ivr.flow.reload"):
        support.write_text(original.replace('"2": tv', '"2": nowhere'), encoding="utf-8")
        await eventually(lambda: any("rejected" in r.getMessage() for r in caplog.records))
    assert engine.flows is good_library
    assert any(
        "nodes.service_menu.options.2: unknown node 'nowhere'" in r.getMessage()
        for r in caplog.records
    )
    call_c = await place_call(tester, "5551000", KYIV_SUBSCRIBER, ["2", "2"])
    assert call_c.queued_in == "extra", call_c.summary()

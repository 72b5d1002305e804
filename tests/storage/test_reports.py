"""Reports on both backends: written off the call path, retried, read back grouped."""

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    CallbackRequested,
    CallEnded,
    CallFinishedInMenu,
    CallStarted,
    MeterReadingSubmitted,
    UnreachableReported,
)
from ivr.storage.reports import (
    CallbackView,
    ReportRepository,
    ReportWriter,
    write_reports,
)
from ivr.tasks import TaskSet

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

FAST_RETRY = dataclasses.replace(ReportWriter.TUNING, retry_initial=0.01, retry_max=0.05)


def unreachable(n: int, line: str = "0800505050", **changes: object) -> UnreachableReported:
    report = UnreachableReported(
        call_id=f"u{n}",
        reported_line=line,
        via_line="5551000",
        published="листівка",
        dialled_from="+380671112233",
        problem="no_answer",
        caller="380671112233",
        at=T0 + timedelta(minutes=n),
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def reading(n: int, contract: str = "10000001") -> MeterReadingSubmitted:
    return MeterReadingSubmitted(
        f"m{n}", "5551000", "380441234567", contract, 1, f"{12345 + n}", at=T0 + timedelta(n)
    )


def callback(n: int) -> CallbackRequested:
    return CallbackRequested(
        f"c{n}",
        "5552000",
        "+380 67 111 22 33",
        "Ковальчук Марія",
        "connections",
        "new_connection",
        promised_by=T0 + timedelta(hours=1),
        at=T0 + timedelta(minutes=n),
    )


@pytest.fixture
def reports(sessions: sessionmaker[Session]) -> ReportRepository:
    return ReportRepository(sessions)


@pytest.fixture
async def writer(sessions: sessionmaker[Session]) -> AsyncIterator[ReportWriter]:
    writer = ReportWriter(sessions, FAST_RETRY)
    tasks = TaskSet("test-reports")
    tasks.spawn(writer.run(), name="reports")
    yield writer
    await writer.stop(timeout=5)
    await tasks.cancel_all()


async def test_report_events_are_written_and_others_ignored(
    writer: ReportWriter, reports: ReportRepository
) -> None:
    writer(CallStarted("x", "5551000", "1", "PJSIP/x"))
    writer(CallFinishedInMenu("x", "5551000", "1", ("main:9",)))
    writer(CallEnded("x", "Normal Clearing"))
    assert writer.pending == 0  # not report events: never queued

    kyiv = timezone(timedelta(hours=2))
    writer(
        unreachable(
            1,
            line="+38 (0800) 50-50-50",
            full_name="Árvíztűrő Tünde",
            contract="1000 0001",
            subscriber_id=7,
            address="вул. Хрещатик, 22",
            details="Тиша в меню\x00, потім гудки 📞",
            source="operator",
            at=datetime(2026, 11, 24, 11, 0, tzinfo=kyiv),
        )
    )
    writer(reading(0))
    # asked for after hours by a caller who used Russian: dialled from the next opening
    writer(dataclasses.replace(callback(0), language="ru", dial_from=T0 + timedelta(minutes=20)))
    assert writer.pending == 3
    await writer.flush()
    assert writer.pending == 0

    [report] = reports.unreachable_reports()
    assert report.reported_line == "380800505050"  # reports are grouped by digits
    assert (report.full_name, report.address, report.details) == (
        "Árvíztűrő Tünde",
        "вул. Хрещатик, 22",
        "Тиша в меню, потім гудки 📞",
    )
    assert (report.contract, report.subscriber_id, report.source, report.status) == (
        "10000001",
        7,
        "operator",
        "new",
    )
    assert (report.via_line, report.published, report.dialled_from, report.problem) == (
        "5551000",
        "листівка",
        "+380671112233",
        "no_answer",
    )
    assert report.created_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    [meter] = reports.meter_readings()
    assert (meter.contract, meter.reading, meter.subscriber_id, meter.call_id) == (
        "10000001",
        "12345",
        1,
        "m0",
    )
    [request] = reports.callbacks()
    assert request == CallbackView(
        id=request.id,
        created_at=T0,
        call_id="c0",
        line="5552000",
        phone="+380 67 111 22 33",
        name="Ковальчук Марія",
        queue="connections",
        caller_class="new_connection",
        promised_by=T0 + timedelta(hours=1),
        status="open",
        attempts=0,
        last_attempt_at=None,
        outcome=None,
        waiting_since=None,
        next_attempt_at=T0 + timedelta(minutes=20),
        answered_at=None,
        language="ru",
    )


async def test_a_database_failure_is_retried_and_loses_nothing(
    sessions: sessionmaker[Session],
    engine: Engine,
    reports: ReportRepository,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The reports table is missing (a migration gone wrong, a DBA's mistake): the writer
    keeps the whole batch (other tables' rows too) and writes it once the table is back."""
    attempts = 0

    def counting() -> Session:
        nonlocal attempts
        attempts += 1
        return sessions()

    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE unreachable_reports RENAME TO unreachable_reports_x"))
    writer = ReportWriter(counting, dataclasses.replace(FAST_RETRY, quiet=0.01))
    tasks = TaskSet("test")
    tasks.spawn(writer.run())
    with caplog.at_level(logging.WARNING, logger="ivr.storage.reports"):
        for n in range(5):
            writer(reading(n))
            writer(unreachable(n, full_name="Олена Пчілка"))
            writer(callback(n))
        for _ in range(500):
            if attempts >= 3:
                break
            await asyncio.sleep(0.01)
        assert attempts >= 3 and writer.pending == 15
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE unreachable_reports_x RENAME TO unreachable_reports"))
        await asyncio.wait_for(writer.flush(), 10)
        await writer.stop()

    assert writer.pending == 0
    assert len(reports.unreachable_reports()) == 5
    assert {r.full_name for r in reports.unreachable_reports()} == {"Олена Пчілка"}
    assert len(reports.meter_readings()) == 5  # rolled back with the batch, written once
    assert len(reports.callbacks()) == 5
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("reports: writing 15 events failed (attempt 1") for m in messages)
    assert any("reports: written again after" in m for m in messages)
    await tasks.cancel_all()


async def test_stop_gives_up_when_the_database_stays_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def down() -> Session:
        raise ConnectionRefusedError("database is down")

    writer = ReportWriter(down, dataclasses.replace(ReportWriter.TUNING, retry_initial=0.01))
    tasks = TaskSet("test")
    run = tasks.spawn(writer.run())
    writer(reading(1))
    with caplog.at_level(logging.ERROR, logger="ivr.storage.reports"):
        await asyncio.wait_for(writer.stop(timeout=0.2), 5)
    assert run.done() and writer.pending == 1
    assert any("1 events" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError, match="reports ended with 1 events not written"):
        await writer.flush()


# --- the read side ------------------------------------------------------------------------


def test_unreachable_reports_grouped_per_line(
    sessions: sessionmaker[Session], reports: ReportRepository
) -> None:
    assert reports.unreachable_by_line() == []
    events = [
        unreachable(0, line="0800505050"),
        unreachable(1, line="5553000"),
        unreachable(2, line="0 800 50-50-50"),
        unreachable(3, line="5554000"),
        unreachable(4, line="(080) 050 5050"),
        unreachable(5, line="5553000"),
        unreachable(6, line=""),
    ]
    write_reports(sessions, events[:4])
    write_reports(sessions, events[4:])

    assert reports.unreachable_by_line() == [
        ("0800505050", 3),
        ("5553000", 2),
        ("", 1),
        ("5554000", 1),
    ]
    assert reports.unreachable_by_line(since=T0 + timedelta(minutes=2)) == [
        ("0800505050", 2),
        ("", 1),  # equal counts: by line ("" = not given)
        ("5553000", 1),
        ("5554000", 1),
    ]
    until = T0 + timedelta(minutes=2)
    assert reports.unreachable_by_line(until=until) == [("0800505050", 1), ("5553000", 1)]


def test_unreachable_reports_newest_first_filtered(
    sessions: sessionmaker[Session], reports: ReportRepository
) -> None:
    write_reports(
        sessions, [unreachable(n, line="5553000" if n % 2 else "5551000") for n in range(6)]
    )
    assert [r.call_id for r in reports.unreachable_reports()] == [f"u{n}" for n in range(5, -1, -1)]
    assert [r.call_id for r in reports.unreachable_reports(limit=2)] == ["u5", "u4"]
    assert [r.call_id for r in reports.unreachable_reports(line="555-30-00")] == ["u5", "u3", "u1"]
    window = reports.unreachable_reports(
        since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=4)
    )
    assert [r.call_id for r in window] == ["u3", "u2", "u1"]
    view = window[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = "closed"  # type: ignore[misc]


def test_meter_readings_and_callbacks(
    sessions: sessionmaker[Session], reports: ReportRepository
) -> None:
    write_reports(
        sessions,
        [reading(0), reading(1, "20000002"), reading(2), callback(0), callback(1)],
    )
    assert [m.call_id for m in reports.meter_readings()] == ["m2", "m1", "m0"]
    assert [m.call_id for m in reports.meter_readings(contract="1000 0001")] == ["m2", "m0"]
    assert [m.call_id for m in reports.meter_readings(limit=1)] == ["m2"]
    assert [c.call_id for c in reports.callbacks(status="open")] == ["c1", "c0"]
    assert reports.callbacks(status="done") == []


def test_a_callback_keeps_the_callers_place_in_line(
    sessions: sessionmaker[Session], reports: ReportRepository
) -> None:
    """A callback accepted while waiting in a queue stores when the wait began."""
    kyiv = timezone(timedelta(hours=2))
    waited = dataclasses.replace(
        callback(1), waiting_since=datetime(2026, 11, 24, 10, 55, tzinfo=kyiv)
    )
    naive = dataclasses.replace(callback(2), waiting_since=datetime(2026, 11, 24, 8, 50))
    write_reports(sessions, [callback(0), waited, naive])

    views = {v.call_id: v for v in reports.callbacks()}
    assert views["c0"].waiting_since is None  # asked for in the menu: its place is created_at
    assert views["c1"].waiting_since == T0 - timedelta(minutes=5)
    assert views["c2"].waiting_since == T0 - timedelta(minutes=10)  # naive: taken as UTC
    assert views["c1"].waiting_since.utcoffset() == timedelta(0)
    assert (views["c1"].next_attempt_at, views["c1"].answered_at) == (None, None)

"""The engine's lines in queue_log: what each event writes, cleaned; sent one at a time in
order off the caller's path; a failure or a full queue is logged, never raised."""

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from ivr.events.model import (
    AgentChanged,
    CallbackAttempted,
    CallbackRequested,
    CallEscalated,
)
from ivr.tasks import TaskSet
from ivr.telephony import queue_log
from ivr.telephony.ami_events import IvrRoute
from ivr.telephony.queue_log import QueueLogLine, QueueLogWriter, clean, event_line

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ROUTE = IvrRoute("1764.12", "+380441234567", "5551000", "existing", "tv", 5, "uk", "main:1>tv:2")


def message(line: QueueLogLine | None) -> tuple[str, str, str, str] | None:
    if line is None:
        return None
    action = line.action()
    assert (action["Action"], action["Interface"]) == ("QueueLog", "NONE")
    return action["Queue"], action["Event"], action["Uniqueid"], action["Message"]


def test_each_event_s_line() -> None:
    escalated = CallEscalated("c1", "tv", "overflow", "tv -> senior", 60.4, at=AT)
    failed = CallEscalated("c1", "tv", "overflow", "failed: AMI", 60.4, failed=True, at=AT)
    requested = CallbackRequested("c2", "5551000", "+38050", "", "tv", "vip", AT, at=AT)
    answered = CallbackAttempted(7, "+38050", 2, "answered", True, AT, "c2", "tv")
    missed = CallbackAttempted(7, "+38050", 1, "no_answer", False, AT, "c2", "tv")
    given_up = CallbackAttempted(8, "+38050", 3, "busy", True, AT, "", "tv")
    assert [message(event_line(e)) for e in (escalated, requested, answered, missed, given_up)] == [
        ("tv", "ESCALATE", "c1", "overflow|tv -> senior|60.4"),
        ("tv", "CALLBACK", "c2", "REQUESTED|2026-11-25T09:00:00+00:00"),
        ("tv", "CALLBACK", "c2", "ANSWERED|2"),
        ("tv", "CALLBACK", "c2", "FAILED|1|no_answer|retry"),
        ("tv", "CALLBACK", "NONE", "FAILED|3|busy|final"),  # an operator's: no call
    ]
    assert event_line(failed) is None  # retried: only the step that ran is logged
    assert event_line(AgentChanged("1001", "tv", "ready")) is None
    assert message(queue_log.route_line(ROUTE)) == (
        "tv",
        "IVRPATH",
        "1764.12",
        "main:1>tv:2|5551000|existing|5",
    )


def test_values_cannot_add_fields_or_lines() -> None:
    assert clean("a|b\r\nc\x00d\x7f e") == "a b c d e"
    line = QueueLogLine("t|v", "ESCALATE", "c\n1", ("x|y", "z\rw"))
    assert message(line) == ("t v", "ESCALATE", "c 1", "x y|z w")


class Sender:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.failures = 0

    async def __call__(self, action: dict[str, str]) -> None:
        await self.release.wait()
        self.sent.append(action)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("AMI not connected")


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_lines_go_out_in_order_off_the_caller_s_path() -> None:
    send, tasks = Sender(), TaskSet("test")
    writer = QueueLogWriter(send, tasks, "main")
    send.release.clear()  # AMI slow: the callers do not wait
    writer.on_ami(ROUTE)
    writer(CallEscalated("1764.12", "tv", "raise_priority", "priority 5 -> 8", 20.0))
    writer.dialled("1764.12", "tv", 1)
    assert send.sent == []
    send.release.set()
    await settle()
    assert [a["Event"] for a in send.sent] == ["IVRPATH", "ESCALATE", "CALLBACK"]
    assert send.sent[2]["Message"] == "DIALLED|1"
    assert len(tasks) == 1  # one worker, still listening
    await tasks.cancel_all()


async def test_a_failed_line_is_logged_and_the_next_still_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    send, tasks = Sender(), TaskSet("test")
    send.failures = 1
    writer = QueueLogWriter(send, tasks, "main")
    writer.on_ami(ROUTE)
    writer.dialled("c2", "tv", 1)
    await settle()
    assert [a["Event"] for a in send.sent] == ["IVRPATH", "CALLBACK"]
    assert [r.getMessage() for r in caplog.records] == [
        "queue_log main: IVRPATH 1764.12 not written: AMI not connected"
    ]
    await tasks.cancel_all()


async def test_a_full_queue_drops_lines_instead_of_holding_calls(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(queue_log, "MAX_PENDING", 2)
    send, tasks = Sender(), TaskSet("test")
    send.release.clear()
    writer = QueueLogWriter(send, tasks, "main")
    writer.dialled("c2", "tv", 0)
    writer.dialled("c2", "tv", 1)
    await settle()  # the worker holds the first (AMI slow), one waits
    writer.dialled("c2", "tv", 2)
    writer.dialled("c2", "tv", 3)  # a third would wait: dropped
    assert writer.dropped == 1
    assert "queue_log main: 2 lines waiting, " in caplog.text and "'3')) dropped" in caplog.text
    send.release.set()
    await settle()
    assert [a["Message"] for a in send.sent] == ["DIALLED|0", "DIALLED|1", "DIALLED|2"]
    await tasks.cancel_all()

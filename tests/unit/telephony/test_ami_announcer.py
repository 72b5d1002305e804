"""Domain events announced to telephony admins as AMI UserEvents."""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from ivr.events.model import (
    AgentChanged,
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallbackAttempted,
    CallbackRequested,
    CallCompleted,
    CallEscalated,
    CallMonitored,
    CallRouted,
    CallStarted,
    Event,
    OutageSubsided,
    OutageSuspected,
    TalkLimitReached,
    UnreachableReported,
    WaitPredicted,
)
from ivr.tasks import TaskSet
from ivr.telephony.ami_announcer import AmiAnnouncer, user_event

ANNOUNCED: list[tuple[Event, str, dict[str, str]]] = [
    (
        AnswerTargetMissed("c1", "internet", "5552000", 20.0004),
        "IvrTargetMissed",
        {"CallID": "c1", "Queue": "internet", "Line": "5552000", "Wait": "20.000"},
    ),
    (
        CallEscalated("c1", "internet", "raise_priority", "priority 5 -> 8", 20.5),
        "IvrEscalation",
        {
            "CallID": "c1",
            "Queue": "internet",
            "Step": "raise_priority",
            "Detail": "priority 5 -> 8",
            "Wait": "20.500",
            "Outcome": "done",
            "Late": "0.000",
            "Attempt": "1",
        },
    ),
    (
        CallEscalated(
            "c1", "tv", "overflow", "failed: Not connected", 41.0, late=21.0, failed=True, attempt=3
        ),
        "IvrEscalation",
        {
            "CallID": "c1",
            "Queue": "tv",
            "Step": "overflow",
            "Detail": "failed: Not connected",
            "Wait": "41.000",
            "Outcome": "failed",
            "Late": "21.000",
            "Attempt": "3",
        },
    ),
    (
        TalkLimitReached("c1", "tv", "1001", "Local/1001@ivr-agents-01;1", "guideline", 300.1234),
        "IvrTalkLimit",
        {
            "CallID": "c1",
            "Queue": "tv",
            "Agent": "1001",
            "AgentChannel": "Local/1001@ivr-agents-01;1",
            "Level": "guideline",
            "Talk": "300.123",
        },
    ),
    (
        UnreachableReported(
            "c2", "5553000", "5552000", "site", "0441234567", "no_answer", "0671112233"
        ),
        "IvrUnreachableReport",
        {
            "CallID": "c2",
            "ReportedLine": "5553000",
            "ViaLine": "5552000",
            "Published": "site",
            "DialledFrom": "0441234567",
            "Problem": "no_answer",
        },
    ),
    (
        CallMonitored(7, "c3", "1001", "barge", "9001", "supervisor"),
        "IvrSupervisorMonitor",
        {
            "CallID": "c3",
            "Agent": "1001",
            "Mode": "barge",
            "Phone": "9001",
            "By": "supervisor",
            "MonitorID": "7",
        },
    ),
    (
        CallbackAttempted(42, "0501234567", 2, "no_answer", False),
        "IvrCallbackOutcome",
        {
            "CallbackID": "42",
            "Phone": "0501234567",
            "Attempt": "2",
            "Outcome": "no_answer",
            "Final": "no",
        },
    ),
    (
        CallbackAttempted(42, "0501234567", 3, "answered", True),
        "IvrCallbackOutcome",
        {
            "CallbackID": "42",
            "Phone": "0501234567",
            "Attempt": "3",
            "Outcome": "answered",
            "Final": "yes",
        },
    ),
    (
        WaitPredicted("c1", "internet", 3, 0, 2, 95.0, 142.5, 20.0),
        "IvrWaitPredicted",
        {
            "CallID": "c1",
            "Queue": "internet",
            "Position": "3",
            "Ready": "0",
            "Busy": "2",
            "HandleTime": "95.000",
            "Predicted": "142.500",
            "Target": "20.000",
        },
    ),
    (
        WaitPredicted("c2", "tv", 1, 0, 0, 180.0, None, 20.0),
        "IvrWaitPredicted",
        {
            "CallID": "c2",
            "Queue": "tv",
            "Position": "1",
            "Ready": "0",
            "Busy": "0",
            "HandleTime": "180.000",
            "Predicted": "none",  # nobody on duty
            "Target": "20.000",
        },
    ),
    (
        OutageSuspected(7, "Kyiv", "5551000", "menu:2", 14, 1.25, 600.0, "масові звернення"),
        "IvrOutageSuspected",
        {
            "AlertID": "7",
            "City": "Kyiv",
            "Line": "5551000",
            "Choice": "menu:2",
            "Calls": "14",
            "Usual": "1.25",
            "Window": "600.000",
        },
    ),
    (
        OutageSubsided("Kyiv", "5551000", "menu:2", 3),
        "IvrOutageSubsided",
        {"City": "Kyiv", "Line": "5551000", "Choice": "menu:2", "Calls": "3"},
    ),
]
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SILENT: list[Event] = [
    CallStarted("c1", "5552000", "0671112233", "PJSIP/trunk-1"),
    CallRouted("c1", "5552000", "0671112233", "tv", "vip", 10, ("main:1",)),
    CallAnswered("c1", "tv", "1001", "Local/1001@ivr-agents-01;1", 3.0, True),
    CallAbandoned("c1", "tv", 30.0),
    CallCompleted("c1", "tv", "1001", 100.0, "caller"),
    CallbackRequested("c1", "5552000", "0671112233", "", "tv", "vip", NOW),
    AgentChanged("1001", "tv", "paused", "lunch"),
]


@pytest.mark.parametrize(("event", "name", "fields"), ANNOUNCED)
def test_announced_events(event: Event, name: str, fields: dict[str, str]) -> None:
    announced = user_event(event)
    assert announced == (name, fields)
    assert all(isinstance(v, str) for v in announced[1].values())


@pytest.mark.parametrize("event", SILENT, ids=lambda e: type(e).__name__)
def test_other_events_are_not_announced(event: Event) -> None:
    assert user_event(event) is None


class Sender:
    def __init__(self, failure: Exception | None = None) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.failure = failure

    async def __call__(self, name: str, fields: Mapping[str, str]) -> None:
        self.sent.append((name, dict(fields)))
        if self.failure is not None:
            raise self.failure


async def test_the_announcer_sends_in_a_tracked_task() -> None:
    send, tasks = Sender(), TaskSet("test")
    announcer = AmiAnnouncer(send, tasks)
    event, name, fields = ANNOUNCED[0]
    announcer(event)
    assert send.sent == [] and len(tasks) == 1  # not on the caller's path
    assert "announce-IvrTargetMissed" in {t.get_name() for t in asyncio.all_tasks()}
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert send.sent == [(name, fields)] and len(tasks) == 0
    for silent in SILENT:
        announcer(silent)
    assert len(tasks) == 0


async def test_a_send_error_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    send, tasks = Sender(ConnectionError("AMI not connected")), TaskSet("test")
    AmiAnnouncer(send, tasks)(ANNOUNCED[1][0])
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(send.sent) == 1 and len(tasks) == 0
    messages = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert messages == [
        (
            "ivr.telephony.ami_announcer",
            logging.WARNING,
            "could not send UserEvent IvrEscalation: AMI not connected",
        )
    ]

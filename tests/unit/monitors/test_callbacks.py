"""CallbackDialer on a real CallbackStore (SQLite in tmp_path) with a fake Originator that
answers like Asterisk: the action's response, then OriginateResponse with the ActionID; on a
fake clock."""

import asyncio
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import CallbackAttempted, CallbackRequested
from ivr.monitors.callbacks import CallbackDialer
from ivr.routing.escalation import Waiting
from ivr.storage.callbacks import CallbackStore
from ivr.storage.db import open_store
from ivr.storage.reports import write_reports
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.ami import AmiActionError
from ivr.telephony.ami_events import AmiEvents
from tests.fake_clock import FakeClock
from tests.unit.monitors.kit import LINE, Published, eventually, queues, subscribed

RETRY = 120.0
CONFIG = queues(
    {"a": {}, "b": {}},
    max_rings=3,
    ring_seconds=2.5,
    attempts=2,
    retry_after=RETRY,
    caller_id="IVR <5552000>",
    poll_interval=0.02,
)
PHONE = "0501234567"


class Originator:
    """Records each Originate; answers with OriginateResponse Reason `reasons[i]` for the
    i-th call (no reason left: no OriginateResponse until the test sends one)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.reasons: list[str] = []
        self.failure: Exception | None = None
        self.ami: AmiEvents | None = None  # where its OriginateResponse events go

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30000,
        action_id: str | None = None,
    ) -> Mapping[str, str]:
        self.calls.append(
            {
                "channel": channel,
                "context": context,
                "exten": exten,
                "caller_id": caller_id,
                "variables": dict(variables or {}),
                "timeout_ms": timeout_ms,
                "action_id": action_id,
            }
        )
        if self.failure is not None:
            raise self.failure
        assert action_id is not None
        if self.reasons:
            reason = self.reasons.pop(0)
            asyncio.get_running_loop().call_soon(self.respond, action_id, reason)
        return {"Response": "Success", "ActionID": action_id, "Message": "Originate queued"}

    def respond(self, action_id: str, reason: str) -> None:
        assert self.ami is not None
        for to in ("someone-else", action_id):  # another action's response is not ours
            self.ami(
                {
                    "Event": "OriginateResponse",
                    "Privilege": "call,all",
                    "ActionID": to,
                    "Response": "Success" if reason == "4" else "Failure",
                    "Channel": "PJSIP/provider-00000001",
                    "Context": names.CONTEXT_CALLBACK,
                    "Exten": "s",
                    "Reason": "0" if to != action_id else reason,
                    "Uniqueid": "<null>",
                    "CallerIDNum": "<unknown>",
                    "CallerIDName": "<unknown>",
                }
            )


class Kit:
    def __init__(self, sessions: sessionmaker[Session], tasks: TaskSet) -> None:
        self.sessions = sessions
        self.tasks = tasks
        self.store = CallbackStore(sessions)
        self.originator = Originator()
        self.waiting: list[Waiting] = []
        self.ready = {"a": True, "b": True}
        self.asked: list[str] = []
        self.published = Published()
        self.clock = FakeClock()
        self.dialer = CallbackDialer(
            lambda: CONFIG,
            self.store,
            self.originator,
            lambda: list(self.waiting),
            self.has_ready_agent,
            self.published,
            tasks,
            self.clock,
        )
        self.originator.ami = subscribed(self.dialer)

    def has_ready_agent(self, queue: str) -> bool:
        self.asked.append(queue)
        return self.ready.get(queue, False)

    def request(
        self,
        call_id: str,
        waited: float,
        queue: str = "a",
        caller_class: str = "vip",
        phone: str = PHONE,
    ) -> int:
        """A callback request of a caller who started waiting `waited` seconds ago."""
        now = self.clock.wall()
        event = CallbackRequested(
            call_id,
            LINE,
            phone,
            "Kovalchuk",
            queue,
            caller_class,
            promised_by=now + timedelta(minutes=30),
            waiting_since=now - timedelta(seconds=waited),
        )
        write_reports(self.sessions, [event])
        [found] = [c.id for c in self.store.due(now) if c.call_id == call_id]
        return found

    async def dial(self) -> None:
        """One poll, and every attempt it started to its end."""
        await self.dialer.dial_due()
        await self.settle()

    async def settle(self) -> None:
        """Every attempt running to its end."""
        await eventually(lambda: len(self.tasks) == 0)

    def attempts(self) -> list[tuple[int, str, int, str, bool]]:
        return [
            (e.callback_id, e.phone, e.attempt, e.outcome, e.final)
            for e in self.published.of(CallbackAttempted)
        ]

    def status(self, callback_id: int) -> tuple[str, int, str | None]:
        view = self.store.get(callback_id)
        assert view is not None
        return view.status, view.attempts, view.outcome


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with open_store(f"sqlite:///{tmp_path / 'ivr.db'}") as sessions:
        yield sessions


@pytest.fixture
def kit(sessions: sessionmaker[Session], tasks: TaskSet) -> Kit:
    return Kit(sessions, tasks)


async def test_a_due_callback_is_dialled_with_the_ring_cap(kit: Kit) -> None:
    callback = kit.request("c1", waited=60)
    kit.originator.reasons = ["4"]
    await kit.dial()
    [call] = kit.originator.calls
    action_id = call.pop("action_id")
    assert action_id.startswith(f"ivr-callback-{callback}-")
    assert call == {
        "channel": f"PJSIP/{PHONE}@provider",
        "context": "ivr-callback",
        "exten": "s",
        "caller_id": "IVR <5552000>",
        "variables": {
            names.VAR_QUEUE: "a",
            names.VAR_PRIORITY: "10",
            names.VAR_CALLER_CLASS: "vip",
            names.VAR_LINE: LINE,
            names.VAR_CALLBACK_ID: str(callback),
            names.VAR_LANGUAGE: "",  # the request has none
            names.VAR_CALLBACK_GREETING: "",  # no prompts: no greeting
        },
        "timeout_ms": 3 * 2500,  # max_rings * ring_seconds
    }
    assert kit.attempts() == [(callback, PHONE, 1, "answered", True)]
    assert kit.status(callback) == ("done", 1, "answered")
    await kit.dial()
    assert len(kit.originator.calls) == 1


async def test_no_answer_is_retried_then_given_up(kit: Kit) -> None:
    callback = kit.request("c1", waited=60)
    kit.originator.reasons = ["3", "3"]
    await kit.dial()
    assert kit.attempts() == [(callback, PHONE, 1, "no_answer", False)]
    assert kit.status(callback) == ("open", 1, "no_answer")
    await kit.dial()  # not due before retry_after
    assert len(kit.originator.calls) == 1
    await kit.clock.advance(RETRY)
    await kit.dial()
    assert len(kit.originator.calls) == 2
    assert kit.attempts() == [
        (callback, PHONE, 1, "no_answer", False),
        (callback, PHONE, 2, "no_answer", True),  # attempts: 2
    ]
    assert kit.status(callback) == ("failed", 2, "no_answer")
    await kit.clock.advance(RETRY)
    await kit.dial()
    assert len(kit.originator.calls) == 2


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [("4", "answered"), ("3", "no_answer"), ("1", "no_answer"), ("5", "busy"), ("0", "failed")],
)
async def test_the_originate_reason_is_the_outcome(kit: Kit, reason: str, outcome: str) -> None:
    callback = kit.request("c1", waited=60)
    kit.originator.reasons = [reason]
    await kit.dial()
    assert kit.attempts() == [(callback, PHONE, 1, outcome, outcome == "answered")]


async def test_a_caller_of_its_class_who_waited_longer_goes_first(kit: Kit) -> None:
    callback = kit.request("c1", waited=60)
    since = kit.clock.wall() - timedelta(seconds=60)
    kit.waiting = [Waiting("a", "vip", since - timedelta(seconds=5))]
    await kit.dial()
    assert kit.originator.calls == [] and kit.attempts() == []
    assert kit.status(callback) == ("open", 0, None)
    # later callers, or of another class or queue: no reason to wait
    kit.waiting = [
        Waiting("a", "vip", since + timedelta(seconds=5)),
        Waiting("a", "regular", since - timedelta(seconds=50)),
        Waiting("b", "vip", since - timedelta(seconds=50)),
    ]
    kit.originator.reasons = ["4"]
    await kit.dial()
    assert len(kit.originator.calls) == 1


async def test_a_queue_nobody_serves_is_not_dialled(kit: Kit) -> None:
    kit.request("c1", waited=60, queue="b")
    kit.ready["b"] = False
    await kit.dial()
    assert kit.originator.calls == [] and kit.asked == ["b"]
    kit.ready["b"] = True
    kit.originator.reasons = ["4"]
    await kit.dial()
    [call] = kit.originator.calls
    assert call["variables"][names.VAR_QUEUE] == "b"


async def test_a_phone_that_is_not_a_number_is_not_dialled(kit: Kit) -> None:
    callback = kit.request("c1", waited=60, phone="050 123; Dial(SIP/evil)")
    await kit.dial()
    assert kit.originator.calls == []
    assert kit.attempts() == [(callback, "050 123; Dial(SIP/evil)", 1, "failed", False)]
    assert kit.status(callback) == ("open", 1, "failed")


async def test_an_originate_error_is_a_failed_attempt(kit: Kit) -> None:
    callback = kit.request("c1", waited=60, phone="+380501234567")
    kit.originator.failure = AmiActionError({"Response": "Error", "Message": "Originate failed"})
    await kit.dial()
    assert kit.originator.calls[0]["channel"] == "PJSIP/+380501234567@provider"
    assert kit.attempts() == [(callback, "+380501234567", 1, "failed", False)]


async def test_one_callback_per_queue_at_a_time_longest_waiting_first(kit: Kit) -> None:
    first = kit.request("c1", waited=90)
    second = kit.request("c2", waited=60)
    other = kit.request("c3", waited=30, queue="b", caller_class="regular")
    await kit.dialer.dial_due()  # no OriginateResponse yet: both calls ring
    await eventually(lambda: len(kit.originator.calls) == 2)
    await kit.dialer.dial_due()
    await asyncio.sleep(0.02)
    calls = kit.originator.calls  # in parallel: in any order
    dialled = {c["variables"][names.VAR_CALLBACK_ID]: c["variables"] for c in calls}
    assert sorted(dialled) == sorted([str(first), str(other)])
    assert dialled[str(other)][names.VAR_PRIORITY] == "5"  # regular
    for call in calls:
        kit.originator.respond(call["action_id"], "4")
    await kit.settle()
    assert len(kit.originator.calls) == 2
    kit.originator.reasons = ["4"]
    await kit.dial()
    assert kit.originator.calls[2]["variables"][names.VAR_CALLBACK_ID] == str(second)
    assert sorted(a[0] for a in kit.attempts()) == sorted([first, other, second])


async def test_run_reopens_interrupted_attempts_and_polls(
    kit: Kit, tasks: TaskSet, caplog: pytest.LogCaptureFixture
) -> None:
    callback = kit.request("c1", waited=60)
    recent = kit.request("c2", waited=50)
    long_ago = kit.clock.wall() - timedelta(minutes=5)
    assert kit.store.start_attempt(callback, long_ago) == 1  # then the engine died
    assert kit.store.start_attempt(recent, kit.clock.wall()) == 1  # another's, still ringing
    kit.originator.reasons = ["4"]
    runner = tasks.spawn(kit.dialer.run(), name="dialer")
    await eventually(lambda: bool(kit.attempts()))
    runner.cancel()
    assert kit.attempts() == [(callback, PHONE, 2, "answered", True)]  # not `recent`
    assert "callbacks: 1 interrupted attempts are open again" in caplog.text

"""WaitingMonitor: the answer target and the escalation ladder, live, on recorded-style AMI
queue events, on a fake clock."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from ivr.events.model import (
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallEscalated,
)
from ivr.monitors.waiting import Retry, WaitingMonitor
from ivr.queues.model import QueuesConfig
from ivr.routing.escalation import Waiting
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.ami import AmiActionError
from tests.fake_clock import FakeClock
from tests.unit.monitors.kit import (
    AGENT,
    CALLER,
    LINE,
    PHONE,
    Actions,
    Prompts,
    Published,
    abandon,
    connect,
    hangup,
    join,
    leave,
    queues,
    routed,
    subscribed,
    until,
    user_event,
)

U = 20.0  # one unit of waiting: the 20 s answer target
TARGET = U
RETRY = Retry(first=10 * U)  # a failed step is retried after these tests (see test_resync)
CONFIG = queues(
    {
        # the full ladder: priority at the target, then the callback offer, then overflow
        "a": {
            "answer_target": TARGET,
            "escalation": [
                {"after": U, "raise_priority": 3},
                {"after": 1.5 * U, "offer_callback": True},
                {"after": 2 * U, "overflow": "b"},
            ],
        },
        "b": {"answer_target": TARGET, "escalation": []},
        # overflow after the target, one more step in the overflow queue
        "o": {
            "answer_target": U / 2,
            "escalation": [
                {"after": U, "overflow": "b"},
                {"after": 1.5 * U, "raise_priority": 2},
            ],
        },
        "c": {"answer_target": U / 2, "escalation": [{"after": U / 2, "offer_callback": True}]},
    },
    promise=600,
    accept_key="2",
)
SOUNDS = {
    "queue_callback_offer": "ivr-tts/offer",
    "queue_callback_confirm": "ivr-tts/confirm",
    "queue_callback_no_number": "ivr-tts/no-number",
}


class Kit:
    def __init__(self, tasks: TaskSet, config: QueuesConfig = CONFIG) -> None:
        self.clock = FakeClock()
        self.actions = Actions(self.clock.now)
        self.prompts = Prompts(SOUNDS)
        self.published = Published()
        self.monitor = WaitingMonitor(
            lambda: config,
            self.actions,
            self.prompts,
            self.published,
            tasks,
            self.clock,
            RETRY,
        )
        self.ami = subscribed(self.monitor)

    async def until(self, start: float, offset: float) -> None:
        await until(self.clock, start, offset)

    def join(
        self, call_id: str, queue: str, caller_class: str = "vip", priority: int = 10
    ) -> float:
        """Route the call (CallRouted) and queue it; returns the clock's time of the join."""
        self.monitor.on_ami(routed(call_id, queue, caller_class, priority))
        self.ami(join(call_id, queue))
        waiter = self.monitor.waiter(call_id)
        assert waiter is not None
        return waiter.joined


@pytest.fixture
def kit(tasks: TaskSet) -> Kit:
    return Kit(tasks)


async def test_the_target_is_missed_once_at_the_target(kit: Kit) -> None:
    start = kit.join("c1", "b")
    assert kit.monitor.waiting()[0].queue == "b" and len(kit.monitor) == 1
    await kit.until(start, TARGET * 0.8)
    assert kit.published.events == []
    await kit.until(start, TARGET + 0.4 * U)
    [missed] = kit.published.events
    assert isinstance(missed, AnswerTargetMissed)
    assert (missed.call_id, missed.queue, missed.line) == ("c1", "b", LINE)
    assert missed.wait == TARGET  # at its time, not later
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None and waiter.escalations == 0
    await kit.until(start, 2.5 * TARGET)
    assert kit.published.events == [missed]
    assert kit.actions.calls == []


async def test_the_ladder_runs_each_step_once_in_order(kit: Kit) -> None:
    start = kit.join("c1", "a")
    await kit.until(start, 3 * U)
    events = kit.published.events
    assert isinstance(events[0], AnswerTargetMissed) and events[0].queue == "a"
    escalated = [e for e in events if isinstance(e, CallEscalated)]
    assert len(events) == 4 and len(escalated) == 3
    assert [(e.call_id, e.queue, e.step, e.detail) for e in escalated] == [
        ("c1", "a", "raise_priority", "priority 10 -> 13"),
        ("c1", "a", "offer_callback", "press 2"),
        ("c1", "a", "overflow", "a -> b"),
    ]
    assert all(e.wait >= after for e, after in zip(escalated, (U, 1.5 * U, 2 * U), strict=True))
    offered = {
        names.VAR_CALLBACK_OFFERED: "1",
        names.VAR_CALLBACK_KEY: "2",
        names.VAR_CALLBACK_CONFIRM: "ivr-tts/confirm",
    }
    assert kit.actions.calls == [
        ("change_priority", "a", CALLER, 13),
        ("set_variables", CALLER, offered),
        ("whisper", CALLER, "ivr-tts/offer"),
        ("move_to_queue", CALLER, "b", 13),
    ]
    # each action at its own time, never early
    times = [t - start for t in kit.actions.times]
    assert times == sorted(times)
    assert times[0] >= U and times[1] >= 1.5 * U and times[3] >= 2 * U
    assert times[0] < 1.5 * U  # not held back to a later step
    values = {"minutes": "10", "key": "2"}  # promise 600 s
    assert kit.prompts.calls == [
        ("queue_callback_offer", "uk", values),
        ("queue_callback_confirm", "uk", values),
    ]
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None and waiter.priority == 13 and waiter.timer is None
    assert waiter.escalations == 3  # the three steps; the target is no step
    await kit.until(start, 4 * U)
    assert len(kit.published.events) == 4 and len(kit.actions.calls) == 4


async def test_a_step_is_announced_before_its_bookkeeping(kit: Kit) -> None:
    """Keeping the ladder on the channel is one more AMI round trip: the step's
    announcement does not wait for it (under load each round trip queues behind others)."""
    kit.actions.ladder_kept = asyncio.Event()
    start = kit.join("c1", "a")
    await kit.until(start, 1.2 * U)
    [step] = kit.published.of(CallEscalated)
    assert step.detail == "priority 10 -> 13"
    assert kit.actions.remembered == []
    kit.actions.ladder_kept.set()
    await kit.until(start, 1.3 * U)
    assert kit.actions.remembered == [(CALLER, "a", (0,))]  # the first step done
    assert kit.actions.variables[CALLER][names.VAR_PRIORITY] == "13"


async def test_the_offer_is_skipped_without_its_prompt(kit: Kit) -> None:
    kit.prompts.sounds = {}
    start = kit.join("c1", "c")
    await kit.until(start, U)
    [step] = kit.published.of(CallEscalated)
    assert (step.step, step.detail) == (
        "offer_callback",
        "no prompt 'queue_callback_offer': not offered",
    )
    assert kit.actions.calls == []


async def test_the_offer_confirms_with_a_beep_without_the_confirm_prompt(kit: Kit) -> None:
    del kit.prompts.sounds["queue_callback_confirm"]
    start = kit.join("c1", "c")
    await kit.until(start, U)
    assert kit.actions.calls[0][2][names.VAR_CALLBACK_CONFIRM] == "beep"
    assert kit.actions.calls[1] == ("whisper", CALLER, "ivr-tts/offer")


@pytest.mark.parametrize(
    "number", ["anonymous", "", "<unknown>", "380441234567,Phone:380990000000", "1"]
)
async def test_no_offer_to_a_caller_who_cannot_be_called_back(kit: Kit, number: str) -> None:
    kit.monitor.on_ami(replace(routed("c1", "c"), caller_number=number))
    kit.ami({**join("c1", "c"), "CallerIDNum": number})
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None
    await kit.until(waiter.joined, U)
    [step] = kit.published.of(CallEscalated)
    assert (step.step, step.detail) == (
        "offer_callback",
        "not offered: the caller's number is withheld or invalid",
    )
    # He hears why; IVR_CALLBACK_OFFERED stays unset, so no key can take an offer.
    assert kit.actions.calls == [("whisper", CALLER, "ivr-tts/no-number")]
    assert kit.prompts.calls == [("queue_callback_no_number", "uk", {"minutes": "10", "key": "2"})]
    kit.ami(leave("c1", "c"))
    kit.ami(user_event(names.EVENT_CALLBACK_ACCEPTED, "c1", Phone="0501234567"))
    assert kit.published.of(CallbackRequested) == []


async def test_answered_within_the_target_stops_the_timing(kit: Kit) -> None:
    start = kit.join("c1", "a")
    await kit.until(start, 0.4 * U)
    kit.ami(leave("c1", "a"))  # app_queue: the caller leaves, then connects
    kit.ami(connect("c1", "a"))
    [answered] = kit.published.events
    assert isinstance(answered, CallAnswered)
    assert (answered.call_id, answered.queue, answered.agent, answered.agent_channel) == (
        "c1",
        "a",
        "1001",
        AGENT,
    )
    assert answered.target_met is True
    assert answered.wait == 0.4 * U
    assert len(kit.monitor) == 0 and kit.monitor.waiting() == []
    await kit.until(start, 3 * U)  # past every mark: the timers were cancelled
    assert kit.published.events == [answered]
    assert kit.actions.calls == []


async def test_answered_after_the_target_misses_it(kit: Kit) -> None:
    start = kit.join("c1", "b")
    await kit.until(start, TARGET + 0.4 * U)
    kit.ami(connect("c1", "b"))
    missed, answered = kit.published.events
    assert isinstance(missed, AnswerTargetMissed) and isinstance(answered, CallAnswered)
    assert answered.target_met is False and answered.wait >= TARGET


async def test_an_abandon_is_published_with_the_wait(kit: Kit) -> None:
    start = kit.join("c1", "a")
    await kit.until(start, U / 2)
    kit.ami(abandon("c1", "a"))
    [abandoned] = kit.published.events
    assert isinstance(abandoned, CallAbandoned)
    assert (abandoned.call_id, abandoned.queue) == ("c1", "a")
    assert abandoned.wait == U / 2
    kit.ami(leave("c1", "a"))
    kit.ami(hangup("c1"))
    await kit.until(start, 3 * U)
    assert kit.published.events == [abandoned] and kit.actions.calls == []
    assert len(kit.monitor) == 0


async def overflow(kit: Kit, start: float) -> None:
    """Queue `o` moves the caller to `b` at U; app_queue reports the Redirect out of
    Queue() as an abandon, then the caller joins `b`."""
    await kit.until(start, 1.2 * U)
    assert kit.actions.calls == [("move_to_queue", CALLER, "b", 10)]
    kit.ami(abandon("c1", "o"))
    kit.ami(leave("c1", "o"))
    assert kit.monitor.waiting() == []  # between the queues
    kit.ami(join("c1", "b"))


async def test_an_overflowed_caller_keeps_the_clock_and_the_ladder(kit: Kit) -> None:
    start = kit.join("c1", "o")
    joined_at = kit.clock.wall()
    await overflow(kit, start)
    assert kit.published.of(CallAbandoned) == []
    waiting = kit.monitor.waiting()
    assert [(w.queue, w.caller_class) for w in waiting] == [("b", "vip")]
    assert abs(waiting[0].since - joined_at) < timedelta(seconds=U)  # the first join
    await kit.until(start, 3 * U)  # b's own target would fall at ~2.2 U if the clock restarted
    missed = kit.published.of(AnswerTargetMissed)
    assert [(m.queue, m.wait >= U / 2) for m in missed] == [("o", True)]
    assert [(e.queue, e.step, e.detail) for e in kit.published.of(CallEscalated)] == [
        ("o", "overflow", "o -> b"),
        ("b", "raise_priority", "priority 10 -> 12"),
    ]
    assert kit.actions.calls[1] == ("change_priority", "b", CALLER, 12)
    # 1.5 U after the first join, not 1.5 U after the join in b (~2.7 U)
    [raised] = kit.actions.at("change_priority")
    assert raised - start == 1.5 * U
    kit.ami(connect("c1", "b"))
    [answered] = kit.published.of(CallAnswered)
    assert answered.queue == "b" and answered.wait >= 3 * U and answered.target_met is False


async def test_a_failed_overflow_leaves_a_later_abandon_an_abandon(kit: Kit) -> None:
    kit.actions.failures["move_to_queue"] = AmiActionError(
        {"Response": "Error", "Message": "Channel not found"}
    )
    start = kit.join("c1", "o")
    await kit.until(start, 1.2 * U)
    [failed] = kit.published.of(CallEscalated)
    assert (failed.step, failed.detail) == ("overflow", "failed: Channel not found")
    kit.ami(abandon("c1", "o"))
    [abandoned] = kit.published.of(CallAbandoned)
    assert abandoned.queue == "o" and abandoned.wait >= U


async def test_a_failing_step_is_published_and_the_ladder_goes_on(
    kit: Kit, caplog: pytest.LogCaptureFixture
) -> None:
    kit.actions.failures["change_priority"] = RuntimeError("No such channel")
    start = kit.join("c1", "a")
    await kit.until(start, 1.7 * U)
    steps = [(e.step, e.detail) for e in kit.published.of(CallEscalated)]
    assert steps == [
        ("raise_priority", "failed: No such channel"),
        ("offer_callback", "press 2"),
    ]
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None and waiter.priority == 10  # not raised
    assert "escalation raise_priority for c1 failed: No such channel" in caplog.text


async def test_a_hangup_forgets_the_caller_and_the_route(kit: Kit) -> None:
    start = kit.join("c1", "a")
    kit.ami(hangup("c1"))
    assert len(kit.monitor) == 0 and kit.monitor.waiter("c1") is None
    await kit.until(start, 2.5 * U)
    assert kit.published.events == [] and kit.actions.calls == []
    kit.ami(join("c1", "b"))  # no route any more: an unknown caller
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None
    assert (waiter.caller_class, waiter.priority, waiter.line) == ("unknown", 0, "")


async def test_a_caller_without_a_route_is_unknown(kit: Kit) -> None:
    kit.ami(join("c9", "b"))
    waiter = kit.monitor.waiter("c9")
    assert waiter is not None
    assert (waiter.caller_class, waiter.priority, waiter.caller) == ("unknown", 0, PHONE)


async def test_a_queue_not_in_queues_yaml_is_not_timed(
    kit: Kit, caplog: pytest.LogCaptureFixture
) -> None:
    kit.ami(join("c1", "nowhere"))
    assert len(kit.monitor) == 0
    assert "joined queue nowhere, which queues.yaml does not know" in caplog.text


async def test_an_accepted_callback_keeps_the_place_in_the_first_queue(kit: Kit) -> None:
    start = kit.join("c1", "o")
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None
    joined_at = waiter.joined_at
    await overflow(kit, start)
    before = kit.clock.wall()
    kit.ami(leave("c1", "b"))  # the key exits Queue() to ivr-queue-keys
    kit.ami(
        user_event(
            names.EVENT_CALLBACK_ACCEPTED,
            "c1",
            CallID="c1",
            Line=LINE,
            Queue="b",
            Class="vip",
            Phone="0501234567",
        )
    )
    [requested] = kit.published.of(CallbackRequested)
    assert (
        requested.call_id,
        requested.line,
        requested.phone,
        requested.name,
        requested.queue,
        requested.caller_class,
    ) == ("c1", LINE, PHONE, "", "o", "vip")  # his own number, not the event's Phone
    assert requested.waiting_since == joined_at
    promised = requested.promised_by - before
    assert timedelta(seconds=600) <= promised < timedelta(seconds=601)
    assert len(kit.monitor) == 0
    await kit.until(start, 2.5 * U)  # the raise at 1.5 U does not run
    assert kit.actions.names() == ["move_to_queue"]
    assert [type(e).__name__ for e in kit.published.events] == [
        "AnswerTargetMissed",
        "CallEscalated",
        "CallbackRequested",
    ]


async def test_an_accepted_callback_without_phone_calls_the_caller_id(kit: Kit) -> None:
    kit.join("c1", "b")
    kit.ami(user_event(names.EVENT_CALLBACK_ACCEPTED, "c1", CallID="c1"))
    [requested] = kit.published.of(CallbackRequested)
    assert (requested.phone, requested.queue) == (PHONE, "b")


async def test_a_fallback_caller_s_callback_takes_line_and_class_from_the_dialplan(
    kit: Kit,
) -> None:
    kit.ami(join("f1", "b"))  # no CallRouted: the dialplan's fallback path
    kit.ami(
        user_event(
            names.EVENT_CALLBACK_ACCEPTED, "f1", CallID="f1", Line="5553000", Class="regular"
        )
    )
    [requested] = kit.published.of(CallbackRequested)
    assert (requested.line, requested.caller_class, requested.queue) == (
        "5553000",
        "regular",
        "b",
    )


async def test_a_callback_accepted_by_nobody_waiting_is_ignored(
    kit: Kit, caplog: pytest.LogCaptureFixture
) -> None:
    kit.ami(user_event(names.EVENT_CALLBACK_ACCEPTED, "c7", CallID="c7"))
    assert kit.published.events == []
    assert "callback accepted by c7, who is not waiting" in caplog.text


async def test_an_answered_callback_routes_its_join(kit: Kit) -> None:
    kit.ami(
        user_event(
            names.EVENT_CALLBACK_ANSWERED,
            "cb1",
            CallID="cb1",
            CallbackID="7",
            Line="5553000",
            Queue="a",
            Class="regular",
            QueuePriority="5",
        )
    )
    kit.ami(join("cb1", "a"))
    waiter = kit.monitor.waiter("cb1")
    assert waiter is not None
    assert (waiter.caller_class, waiter.priority, waiter.line) == ("regular", 5, "5553000")
    assert kit.monitor.waiting() == [Waiting("a", "regular", waiter.joined_at)]
    await kit.until(waiter.joined, 1.2 * U)
    [missed] = kit.published.of(AnswerTargetMissed)
    assert missed.line == "5553000"
    assert kit.actions.calls == [("change_priority", "a", CALLER, 8)]
    # kept on the channel: a key press re-queues him with the raise
    assert kit.actions.variables[CALLER][names.VAR_PRIORITY] == "8"


async def test_waiting_lists_only_callers_in_a_queue(kit: Kit) -> None:
    kit.join("c1", "a")
    kit.join("c2", "b", "regular", 5)
    assert {(w.queue, w.caller_class) for w in kit.monitor.waiting()} == {
        ("a", "vip"),
        ("b", "regular"),
    }
    kit.ami(leave("c1", "a"))
    assert [w.queue for w in kit.monitor.waiting()] == ["b"]
    assert len(kit.monitor) == 2  # still known: a re-join picks the ladder up


async def test_a_key_press_rejoin_keeps_the_marks_done(kit: Kit) -> None:
    """A caller who presses another key leaves Queue() and joins the same queue again."""
    start = kit.join("c1", "b")
    await kit.until(start, TARGET + 0.4 * U)
    kit.ami(leave("c1", "b"))
    kit.ami(join("c1", "b"))
    await kit.until(start, 2.5 * TARGET)
    assert len(kit.published.of(AnswerTargetMissed)) == 1


async def test_a_raised_priority_survives_a_key_press_rejoin(kit: Kit) -> None:
    start = kit.join("c1", "a")
    await kit.until(start, 1.2 * U)
    assert kit.actions.calls[0] == ("change_priority", "a", CALLER, 13)
    # what ivr-queue would queue the caller with after a key press (ivr-queue-keys)
    assert kit.actions.variables.get(CALLER, {}).get(names.VAR_PRIORITY) == "13"

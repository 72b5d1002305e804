"""Resync after an AMI outage or an engine start, and failed steps retried: recorded-style
QueueStatus/Status replies, the monitors on a fake clock (times in real seconds)."""

from collections.abc import Mapping, Sequence
from datetime import timedelta

import pytest

from ivr.events.model import (
    AnswerTargetMissed,
    CallAnswered,
    CallEnded,
    CallEscalated,
    TalkLimitReached,
)
from ivr.monitors.resync import (
    STATUS_VARIABLES,
    ChannelState,
    Resync,
    channel_states,
    interface_of,
    queued_callers,
    talks_in_progress,
)
from ivr.monitors.talk import Talking, TalkMonitor
from ivr.monitors.waiting import GONE, Queued, Retry, WaitingMonitor
from ivr.routing.escalation import Waiting, callback_may_dial
from ivr.storage.journal import step_entry
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.ami import AmiConnectionLost, AmiTimeout
from tests.fake_clock import FakeClock
from tests.unit.monitors.kit import (
    AGENT,
    CALLER,
    LINE,
    PHONE,
    Actions,
    Prompts,
    Published,
    join,
    queue_entry,
    queues,
    routed,
    subscribed,
)

CONFIG = queues(
    {
        "a": {
            "answer_target": 2,
            "talk_warning": 30,
            "talk_guideline": 60,
            "escalation": [
                {"after": 3, "raise_priority": 3},
                {"after": 5, "offer_callback": True},
                {"after": 10, "overflow": "b"},
            ],
        },
        "b": {"answer_target": 2, "escalation": []},
    },
    accept_key="2",
)
SOUNDS = {"queue_callback_offer": "ivr-tts/offer", "queue_callback_confirm": "ivr-tts/confirm"}
RETRY = Retry(first=1, factor=2, cap=4, attempts=4)
OTHER = "PJSIP/trunk-00000009"


def status_event(
    call_id: str,
    channel: str,
    *,
    seconds: int = 30,
    bridge: str = "",
    application: str = "Queue",
    data: str = "a,t,,,,,,,",
    variables: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """A Status event as Asterisk 22 sends it (Variables asked: one header per variable)."""
    values = {names.VAR_CALLER_CLASS: "(null)", names.VAR_LINE: "(null)", **(variables or {})}
    lines = [f"{name}={value}" for name, value in values.items()]
    return {
        "Event": "Status",
        "Privilege": "Call",
        "Channel": channel,
        "Uniqueid": call_id,
        "Linkedid": call_id,
        "BridgeID": bridge,
        "Application": application,
        "Data": data,
        "Seconds": str(seconds),
        "Variable": lines[0] if len(lines) == 1 else lines,
    }


class Kit:
    def __init__(self, tasks: TaskSet) -> None:
        self.clock = FakeClock()
        self.actions = Actions(self.clock.now)
        self.published = Published()
        self.waiting = WaitingMonitor(
            lambda: CONFIG,
            self.actions,
            Prompts(SOUNDS),
            self.published,
            tasks,
            clock=self.clock,
            retry=RETRY,
        )
        self.talk = TalkMonitor(lambda: CONFIG, self.actions, self.published, tasks, self.clock)
        self.ami = subscribed(self.waiting, self.talk)

    def join(self, call_id: str, queue: str = "a", channel: str = CALLER) -> None:
        self.waiting.on_ami(routed(call_id, queue, "vip", 10))
        self.ami(join(call_id, queue, channel=channel))

    def steps(self) -> list[tuple[str, str, bool, int, float]]:
        return [
            (e.call_id, e.step, e.failed, e.attempt, round(e.late, 1))
            for e in self.published.of(CallEscalated)
        ]


@pytest.fixture
def kit(tasks: TaskSet) -> Kit:
    return Kit(tasks)


# --- the replies, parsed -------------------------------------------------------------------


def status_reply() -> dict[str, ChannelState]:
    """A Status reply: a caller waiting (w1), one talking (t1) to an agent's leg."""
    return channel_states(
        [
            {"Response": "Success", "EventList": "start", "Message": "Channel status will follow"},
            status_event(
                "w1",
                CALLER,
                variables={
                    names.VAR_CALLER_CLASS: "regular",
                    names.VAR_LINE: LINE,
                    "CHANNEL(language)": "uk",
                },
            ),
            status_event(
                "t1",
                OTHER,
                bridge="br-1",
                variables={names.VAR_QUEUED_AT: "1000", "QUEUEWAIT": "12"},
            ),
            status_event("t1-agent", AGENT, bridge="br-1", application="AppQueue", seconds=40),
            {"Event": "StatusComplete", "Items": "3"},
        ]
    )


def test_status_replies_become_queued_callers() -> None:
    channels = status_reply()
    assert set(channels) == {"w1", "t1", "t1-agent"}
    assert channels["t1"].variables[names.VAR_QUEUED_AT] == "1000"
    queued = queued_callers(
        [{"Event": "QueueParams", "Queue": "a"}, queue_entry("w1", "a", 7, priority=13)],
        channels,
        epoch=1050.0,
    )
    assert queued == [Queued("w1", CALLER, "a", 7.0, 13, PHONE, LINE, "regular", "uk")]
    # the dialplan's IVR_QUEUED_AT gives the wait to the ms (QueueStatus: whole seconds)
    precise = channel_states(
        [status_event("w1", CALLER, variables={names.VAR_QUEUED_AT: "1042.250"})]
    )
    [entry] = queued_callers([queue_entry("w1", "a", 7)], precise, epoch=1050.0)
    assert entry.wait == 7.75
    # ... unless it is from an earlier entry into Queue()
    [entry] = queued_callers([queue_entry("w1", "a", 2)], precise, epoch=1050.0)
    assert entry.wait == 2
    # overflowed: waiting since the first entry; the ladder and steps the engine kept
    moved = channel_states(
        [
            status_event(
                "w1",
                CALLER,
                variables={
                    names.VAR_QUEUED_AT: "1046.5",
                    names.VAR_FIRST_QUEUED_AT: "1030.5",
                    names.VAR_LADDER: "a",
                    names.VAR_STEPS_DONE: "0 2 x",
                },
            )
        ]
    )
    [entry] = queued_callers([queue_entry("w1", "b", 3)], moved, epoch=1050.0)
    assert (entry.queue, entry.wait, entry.ladder, entry.done) == ("b", 19.5, "a", (0, 2))


def test_status_replies_become_talks() -> None:
    # answered at 1000 + 12 s of wait; now is 1050: 38 s of talk
    [talk] = talks_in_progress(status_reply(), CONFIG, epoch=1050.0)
    assert talk == Talking("t1", "a", "1001", AGENT, OTHER, 38.0, waited=12.0)
    # without the dialplan's IVR_QUEUED_AT: the agent leg's age (a ring time early at most)
    plain = channel_states(
        [
            status_event("t1", OTHER, bridge="br-1"),
            status_event("x", AGENT, bridge="br-1", application="AppQueue", seconds=40),
        ]
    )
    assert talks_in_progress(plain, CONFIG, epoch=1050.0)[0].talking == 40.0


def test_a_channel_name_gives_its_member_interface() -> None:
    assert interface_of("PJSIP/1001-0000002a") == "PJSIP/1001"
    assert interface_of("Local/1001@ivr-agents-00000002;1") == "Local/1001@ivr-agents"


# --- waiting callers -----------------------------------------------------------------------


async def test_a_caller_who_joined_during_the_outage_is_adopted_with_his_real_wait(
    kit: Kit,
) -> None:
    alive = {"w1"}
    result = kit.waiting.resync(
        [Queued("w1", CALLER, "a", 6, 5, PHONE, LINE, "regular", "uk")], alive
    )
    assert result.adopted == ("w1",) and result.dropped == ()
    waiter = kit.waiting.waiter("w1")
    assert waiter is not None
    assert waiter.joined == kit.clock.now() - 6
    assert waiter.joined_at == kit.clock.wall() - timedelta(seconds=6)
    assert (waiter.caller_class, waiter.priority, waiter.line) == ("regular", 5, LINE)
    await kit.clock.advance(0)  # everything due by 6 s runs now, in ladder order, late
    [missed] = kit.published.of(AnswerTargetMissed)
    assert missed.wait == 6
    assert kit.steps() == [
        ("w1", "raise_priority", False, 1, 3.0),
        ("w1", "offer_callback", False, 1, 1.0),
    ]
    assert kit.actions.calls[0] == ("change_priority", "a", CALLER, 8)
    assert [step_entry(e) for e in kit.published.of(CallEscalated)] == [
        "raise_priority late 3.0s",
        "offer_callback late 1.0s",
    ]
    await kit.clock.advance(3.9)  # the overflow falls at 10 s of wait: not yet
    assert len(kit.steps()) == 2
    await kit.clock.advance(0.2)
    assert kit.steps()[2] == ("w1", "overflow", False, 1, 0.0)  # on time
    assert kit.actions.at("move_to_queue") == [kit.clock.now() - 0.1]


async def test_a_caller_adopted_after_a_restart_keeps_his_ladder_and_its_steps_done(
    kit: Kit,
) -> None:
    """An earlier engine raised him and moved him from a to b (kept on his channel)."""
    moved = Queued("w1", CALLER, "b", 11, 13, PHONE, ladder="a", done=(0, 2))
    assert kit.waiting.resync([moved], alive={"w1"}).adopted == ("w1",)
    waiter = kit.waiting.waiter("w1")
    assert waiter is not None and (waiter.queue, waiter.first_queue) == ("b", "a")
    await kit.clock.advance(0)
    assert kit.steps() == [("w1", "offer_callback", False, 1, 6.0)]  # the one not done
    assert kit.published.of(AnswerTargetMissed) == []  # missed before any step
    assert kit.actions.names() == ["set_variables", "whisper"]
    assert kit.actions.remembered == [(CALLER, "a", (0, 1, 2))]


async def test_each_step_done_is_kept_on_the_channel(kit: Kit) -> None:
    kit.join("c1")
    await kit.clock.advance(5)
    assert kit.actions.remembered == [(CALLER, "a", (0,)), (CALLER, "a", (0, 1))]


async def test_a_caller_who_hung_up_during_the_outage_is_dropped_and_blocks_no_callback(
    kit: Kit,
) -> None:
    kit.join("g1")
    kit.join("w2", channel=OTHER)
    since = kit.clock.wall()
    callback = Waiting("a", "vip", since + timedelta(seconds=1))
    assert not callback_may_dial(callback, kit.waiting.waiting())  # g1 waited longer
    await kit.clock.advance(1)
    result = kit.waiting.resync([Queued("w2", OTHER, "a", 1, 10)], alive={"w2"})
    assert result.dropped == ("g1",) and result.adopted == () and result.kept == 1
    assert kit.waiting.waiter("g1") is None
    assert [w.queue for w in kit.waiting.waiting()] == ["a"]
    assert callback_may_dial(Waiting("a", "vip", since), kit.waiting.waiting())
    [ended] = kit.published.of(CallEnded)
    assert (ended.call_id, ended.cause) == ("g1", GONE)
    await kit.clock.advance(20)  # the ghost's ladder never runs
    assert {step[0] for step in kit.steps()} == {"w2"}


async def test_a_caller_alive_but_in_no_queue_is_kept_between_queues(kit: Kit) -> None:
    kit.join("k1")
    kit.waiting.resync([], alive={"k1"})
    waiter = kit.waiting.waiter("k1")
    assert waiter is not None and not waiter.in_queue and waiter.timer is None
    assert kit.waiting.waiting() == []
    await kit.clock.advance(6)
    assert kit.published.events == []
    kit.ami(join("k1", "a"))  # back: same clock, due steps at once
    await kit.clock.advance(0)
    assert [s[1] for s in kit.steps()] == ["raise_priority", "offer_callback"]


async def test_a_caller_known_and_queued_keeps_his_clock_and_done_steps(kit: Kit) -> None:
    kit.join("c1")
    await kit.clock.advance(4)
    assert [s[1] for s in kit.steps()] == ["raise_priority"]
    joined = kit.waiting.waiter("c1").joined  # type: ignore[union-attr]
    kit.waiting.resync([Queued("c1", CALLER, "a", 3, 13)], alive={"c1"})  # Wait: whole s
    waiter = kit.waiting.waiter("c1")
    assert waiter is not None and waiter.joined == joined
    await kit.clock.advance(7)
    assert [s[1] for s in kit.steps()] == ["raise_priority", "offer_callback", "overflow"]
    # a second resync runs nothing again
    kit.waiting.resync([Queued("c1", CALLER, "b", 1, 13)], alive={"c1"})
    await kit.clock.advance(10)
    assert len(kit.steps()) == 3 and len(kit.published.of(AnswerTargetMissed)) == 1


async def test_events_newer_than_the_snapshot_win(kit: Kit) -> None:
    kit.waiting.snapshot_asked()
    kit.join("n1")  # joined after QueueStatus was answered: not in it
    kit.waiting.resync([], alive=set())
    waiter = kit.waiting.waiter("n1")
    assert waiter is not None and waiter.in_queue
    kit.waiting.snapshot_asked()
    kit.ami({"Event": "Hangup", "Uniqueid": "h1", "Channel": OTHER})
    result = kit.waiting.resync([Queued("h1", OTHER, "a", 3, 0)], alive={"h1", "n1"})
    assert result.adopted == ()  # hung up since: not adopted as a ghost


# --- failed steps --------------------------------------------------------------------------


async def test_a_failed_step_is_retried_with_backoff_until_it_runs(kit: Kit) -> None:
    kit.actions.failures["change_priority"] = AmiConnectionLost("not connected to AMI")
    kit.join("c1")
    await kit.clock.advance(3)
    assert kit.steps() == [("c1", "raise_priority", True, 1, 0.0)]
    waiter = kit.waiting.waiter("c1")
    assert waiter is not None and waiter.priority == 10 and 0 not in waiter.done
    await kit.clock.advance(1)  # retried 1 s later: fails again
    assert kit.steps()[-1] == ("c1", "raise_priority", True, 2, 1.0)
    del kit.actions.failures["change_priority"]
    await kit.clock.advance(1.9)  # the next try is 2 s after the second (the offer ran at 5)
    assert [s[1:3] for s in kit.steps()] == [
        ("raise_priority", True),
        ("raise_priority", True),
        ("offer_callback", False),
    ]
    await kit.clock.advance(0.1)
    assert kit.steps()[-1] == ("c1", "raise_priority", False, 3, 3.0)
    assert waiter.priority == 13 and 0 in waiter.done
    assert kit.actions.at("change_priority") == [1003.0, 1004.0, 1006.0]
    entries = [step_entry(e) for e in kit.published.of(CallEscalated)]
    assert entries == [
        "raise_priority failed",
        "raise_priority failed",
        "offer_callback",
        "raise_priority late 3.0s",
    ]
    await kit.clock.advance(30)
    assert [s[1] for s in kit.steps()].count("raise_priority") == 3  # never again


async def test_a_step_that_keeps_failing_is_given_up_after_its_attempts(kit: Kit) -> None:
    kit.actions.failures["whisper"] = AmiTimeout("no response to Originate within 5s")
    kit.join("c1")
    await kit.clock.advance(5 + 1 + 2 + 4 + 1)
    offers = [s for s in kit.steps() if s[1] == "offer_callback"]
    assert [(s[2], s[3]) for s in offers] == [(True, 1), (True, 2), (True, 3), (True, 4)]
    waiter = kit.waiting.waiter("c1")
    assert waiter is not None and 1 in waiter.given_up
    await kit.clock.advance(60)
    assert len([s for s in kit.steps() if s[1] == "offer_callback"]) == 4


async def test_a_resync_tries_failed_steps_at_once(kit: Kit) -> None:
    kit.actions.failures["change_priority"] = AmiConnectionLost("not connected to AMI")
    kit.join("c1")
    await kit.clock.advance(3)
    await kit.clock.advance(1)  # second failure: the next try would be at 6 s
    del kit.actions.failures["change_priority"]
    await kit.clock.advance(0.5)
    kit.waiting.resync([Queued("c1", CALLER, "a", 4, 10)], alive={"c1"})  # AMI is back
    await kit.clock.advance(0)
    assert kit.steps()[-1] == ("c1", "raise_priority", False, 3, 1.5)


# --- talks ---------------------------------------------------------------------------------


async def test_a_talk_that_began_during_the_outage_is_timed_from_its_answer(kit: Kit) -> None:
    result = kit.talk.resync([Talking("t1", "a", "1001", AGENT, CALLER, 45)], alive={"t1"})
    assert result.adopted == ("t1",)
    await kit.clock.advance(0)  # the warning (30 s) is past: at once
    [warning] = kit.published.of(TalkLimitReached)
    assert (warning.level, warning.talk) == ("warning", 45)
    await kit.clock.advance(14.9)
    assert len(kit.published.of(TalkLimitReached)) == 1
    await kit.clock.advance(0.1)
    levels = [(e.level, e.talk) for e in kit.published.of(TalkLimitReached)]
    assert levels == [("warning", 45), ("guideline", 60)]
    assert kit.actions.calls == [("whisper", AGENT, "beep"), ("whisper", AGENT, "beep")]


async def test_a_talk_that_ended_during_the_outage_is_dropped(kit: Kit) -> None:
    kit.ami(
        {
            "Event": "AgentConnect",
            "Uniqueid": "t1",
            "Queue": "a",
            "MemberName": "1001",
            "DestChannel": AGENT,
            "Channel": CALLER,
        }
    )
    assert [t.call_id for t in kit.talk.talking()] == ["t1"]
    result = kit.talk.resync([], alive=set())
    assert result.dropped == ("t1",) and kit.talk.talking() == []
    await kit.clock.advance(70)
    assert kit.published.events == []


# --- the whole resync on recorded replies --------------------------------------------------


class Replies:
    def __init__(
        self, status: Sequence[Mapping[str, object]], channels: Sequence[Mapping[str, object]]
    ) -> None:
        self._status, self._channels = status, channels
        self.asked: list[tuple[str, ...]] = []

    async def status(self) -> Sequence[Mapping[str, object]]:
        return self._status

    async def channels(self, variables: Sequence[str]) -> Sequence[Mapping[str, object]]:
        self.asked.append(tuple(variables))
        return self._channels


async def test_resync_run_adopts_drops_and_times(kit: Kit) -> None:
    kit.join("ghost")
    replies = Replies(
        [
            {"Response": "Success", "EventList": "start"},
            queue_entry("w1", "a", 4, priority=0, channel=OTHER),
            {"Event": "QueueStatusComplete"},
        ],
        [
            status_event("w1", OTHER, variables={names.VAR_CALLER_CLASS: "regular"}),
            status_event(
                "t1",
                "PJSIP/trunk-0000000c",
                bridge="b1",
                seconds=90,
                variables={names.VAR_QUEUED_AT: "900", "QUEUEWAIT": "30"},
            ),
            status_event("t1a", AGENT, bridge="b1", application="AppQueue", seconds=61),
        ],
    )
    await Resync(replies, kit.waiting, kit.talk, lambda: CONFIG, epoch=lambda: 990.0).run()
    assert replies.asked == [STATUS_VARIABLES]
    assert kit.waiting.waiter("ghost") is None
    adopted = kit.waiting.waiter("w1")
    assert adopted is not None and adopted.caller_class == "regular"
    [talk] = kit.talk.talking()
    assert (talk.call_id, talk.agent, kit.clock.now() - talk.started) == ("t1", "1001", 60.0)
    # answered unheard: published as answered, with app_queue's wait, at its real time
    [answered] = kit.published.of(CallAnswered)
    assert (answered.call_id, answered.agent, answered.wait, answered.target_met) == (
        "t1",
        "1001",
        30.0,
        False,
    )
    assert answered.at == kit.clock.wall() - timedelta(seconds=60)
    await kit.clock.advance(0)
    assert [s[1] for s in kit.steps()] == ["raise_priority"]
    assert [e.level for e in kit.published.of(TalkLimitReached)] == ["warning", "guideline"]


async def test_a_waiter_answered_unheard_keeps_the_wait_the_engine_measured(kit: Kit) -> None:
    kit.join("c1")
    await kit.clock.advance(1.5)
    kit.waiting.answered_meanwhile(Talking("c1", "a", "1001", AGENT, CALLER, 0.5, waited=1))
    [answered] = kit.published.of(CallAnswered)
    assert (answered.wait, answered.target_met) == (1.0, True)
    assert kit.waiting.waiter("c1") is None
    await kit.clock.advance(10)
    assert kit.steps() == []


async def test_a_stopped_monitor_runs_and_retries_nothing(kit: Kit) -> None:
    kit.actions.failures["change_priority"] = AmiConnectionLost("not connected to AMI")
    kit.join("c1")
    await kit.clock.advance(3)
    kit.waiting.close()
    kit.talk.close()
    await kit.clock.advance(60)
    assert kit.steps() == [("c1", "raise_priority", True, 1, 0.0)]

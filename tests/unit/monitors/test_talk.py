"""TalkMonitor: the warning and guideline beeps to the agent, the optional hard limit, on a
fake clock (times scaled down: the 300 s guideline is 2 s here, within COMPLETE_GRACE)."""

import asyncio

import pytest

from ivr.events.model import CallCompleted, TalkLimitReached
from ivr.monitors.talk import BEEP, ENDED_BY_LIMIT, TalkMonitor
from ivr.tasks import TaskSet
from tests.fake_clock import FakeClock
from tests.unit.monitors.kit import (
    AGENT,
    CALLER,
    Actions,
    Published,
    complete,
    connect,
    hangup,
    queues,
    subscribed,
    until,
)

U = 1.0  # the warning; the guideline is 2 U
CONFIG = queues(
    {
        "t": {"talk_warning": U, "talk_guideline": 2 * U, "hard_limit": 0},
        "g": {"talk_warning": 0, "talk_guideline": U, "hard_limit": 0},
        "h": {"talk_warning": 0, "talk_guideline": U, "hard_limit": 2 * U},
    }
)


class Kit:
    def __init__(self, tasks: TaskSet) -> None:
        self.clock = FakeClock(start=0.0)  # times on it are the offsets themselves, exact
        self.actions = Actions(self.clock.now)
        self.published = Published()
        self.monitor = TalkMonitor(lambda: CONFIG, self.actions, self.published, tasks, self.clock)
        self.ami = subscribed(self.monitor)

    async def until(self, start: float, offset: float) -> None:
        await until(self.clock, start, offset)

    def connect(self, call_id: str, queue: str) -> float:
        self.ami(connect(call_id, queue))
        [talk] = [t for t in self.monitor.talking() if t.call_id == call_id]
        return talk.started

    def levels(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (e.call_id, e.queue, e.agent, e.agent_channel, e.level)
            for e in self.published.of(TalkLimitReached)
        ]


@pytest.fixture
def kit(tasks: TaskSet) -> Kit:
    return Kit(tasks)


async def test_the_warning_then_the_guideline_beep_the_agent(kit: Kit) -> None:
    start = kit.connect("c1", "t")
    [talk] = kit.monitor.talking()
    assert (talk.queue, talk.agent, talk.agent_channel, talk.caller_channel) == (
        "t",
        "1001",
        AGENT,
        CALLER,
    )
    await kit.until(start, 0.8 * U)
    assert kit.published.events == [] and kit.actions.calls == []
    await kit.until(start, 1.5 * U)
    assert kit.levels() == [("c1", "t", "1001", AGENT, "warning")]
    assert kit.actions.calls == [("whisper", AGENT, BEEP)]
    await kit.until(start, 2.5 * U)
    assert [e.level for e in kit.published.of(TalkLimitReached)] == ["warning", "guideline"]
    warning, guideline = kit.published.of(TalkLimitReached)
    assert (warning.talk, guideline.talk) == (U, 2 * U)
    assert kit.actions.calls == [("whisper", AGENT, BEEP)] * 2
    assert BEEP == "beep"
    kit.ami(complete("c1", "t", "agent"))
    [completed] = kit.published.of(CallCompleted)
    assert (completed.call_id, completed.queue, completed.agent, completed.ended_by) == (
        "c1",
        "t",
        "1001",
        "agent",
    )
    assert completed.talk >= 2.5 * U
    assert kit.monitor.talking() == []


async def test_a_call_completed_before_the_guideline_gets_no_guideline_beep(kit: Kit) -> None:
    start = kit.connect("c1", "t")
    await kit.until(start, 1.4 * U)
    kit.ami(complete("c1", "t", "caller"))
    completed = kit.published.events[-1]
    assert isinstance(completed, CallCompleted)
    assert completed.ended_by == "caller" and completed.talk == 1.4 * U
    await kit.until(start, 3 * U)
    assert [e.level for e in kit.published.of(TalkLimitReached)] == ["warning"]
    assert kit.actions.calls == [("whisper", AGENT, BEEP)]
    assert len(kit.published.events) == 2


async def test_no_warning_configured_only_the_guideline(kit: Kit) -> None:
    start = kit.connect("c1", "g")
    await kit.until(start, 2 * U)
    assert [e.level for e in kit.published.of(TalkLimitReached)] == ["guideline"]
    assert kit.actions.calls == [("whisper", AGENT, BEEP)]


async def test_the_hard_limit_hangs_the_caller_up(kit: Kit) -> None:
    start = kit.connect("c1", "h")
    await kit.until(start, 2.5 * U)
    assert [e.level for e in kit.published.of(TalkLimitReached)] == ["guideline", "hard_limit"]
    hard = kit.published.of(TalkLimitReached)[1]
    assert hard.talk >= 2 * U
    assert kit.actions.calls == [("whisper", AGENT, BEEP), ("hangup", CALLER)]
    # recorded at the engine's hangup, without waiting for app_queue's AgentComplete
    [completed] = kit.published.of(CallCompleted)
    assert completed.ended_by == ENDED_BY_LIMIT and completed.talk == 2 * U
    kit.ami(hangup("c1"))
    kit.ami(complete("c1", "h", "caller"))  # app_queue's view: once only
    assert len(kit.published.of(CallCompleted)) == 1


async def test_a_hangup_event_before_the_hangup_reply_ends_the_talk_at_the_limit(
    kit: Kit,
) -> None:
    replied = asyncio.Event()
    kit.actions.hangup = lambda channel: _hung_up_first(kit, replied)  # type: ignore[method-assign]
    start = kit.connect("c1", "h")
    await kit.until(start, 2.2 * U)  # the hangup's reply comes 0.2 U after the limit
    replied.set()
    await kit.until(start, 2.5 * U)
    [completed] = kit.published.of(CallCompleted)
    assert completed.ended_by == ENDED_BY_LIMIT and completed.talk == 2 * U


async def _hung_up_first(kit: Kit, replied: asyncio.Event) -> None:
    """Asterisk's Hangup event (then AgentComplete, Reason caller) before the reply."""
    kit.ami(hangup("c1"))
    kit.ami(complete("c1", "h", "caller"))
    await replied.wait()


async def test_a_failed_hard_limit_hangup_leaves_the_call_to_end_as_usual(kit: Kit) -> None:
    kit.actions.failures["hangup"] = RuntimeError("No such channel")
    start = kit.connect("c1", "h")
    await kit.until(start, 2.5 * U)
    assert kit.published.of(CallCompleted) == []
    kit.ami(complete("c1", "h", "agent"))
    [completed] = kit.published.of(CallCompleted)
    assert completed.ended_by == "agent"


async def test_a_hangup_stops_the_timers_and_ends_the_talk(kit: Kit) -> None:
    start = kit.connect("c1", "h")
    kit.ami(hangup("c1"))
    assert kit.monitor.talking() == []
    await kit.until(start, 2.5 * U)
    assert kit.published.events == [] and kit.actions.calls == []
    # app_queue's AgentComplete may follow the caller's Hangup: the talk ended at the Hangup
    kit.ami(complete("c1", "h", "caller"))
    [completed] = kit.published.of(CallCompleted)
    assert completed.ended_by == "caller" and completed.talk < 0.5 * U
    kit.ami(complete("c1", "h", "caller"))  # once only
    assert len(kit.published.events) == 1


async def test_a_reconnect_restarts_the_timing(kit: Kit) -> None:
    first = kit.connect("c1", "g")
    await kit.until(first, 0.6 * U)
    second = kit.connect("c1", "g")
    assert len(kit.monitor.talking()) == 1
    await kit.until(first, 1.2 * U)
    assert kit.published.events == []  # the first connect's timer was cancelled
    await kit.until(second, 1.3 * U)
    [guideline] = kit.published.of(TalkLimitReached)
    assert guideline.talk == U


async def test_a_queue_not_in_queues_yaml_is_not_timed(kit: Kit) -> None:
    kit.ami(connect("c1", "nowhere"))
    assert kit.monitor.talking() == []


async def test_a_failing_whisper_is_logged_not_raised(
    kit: Kit, caplog: pytest.LogCaptureFixture
) -> None:
    kit.actions.failures["whisper"] = RuntimeError("Channel not found")
    start = kit.connect("c1", "t")
    await kit.until(start, 2.5 * U)
    assert [e.level for e in kit.published.of(TalkLimitReached)] == ["warning", "guideline"]
    assert kit.actions.names() == ["whisper", "whisper"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "ivr.monitors.talk"]
    assert warnings == [
        "talk warning on c1: 1001 failed: Channel not found",
        "talk guideline on c1: 1001 failed: Channel not found",
    ]
    # the `tasks` fixture checks that no background task failed


async def test_an_agent_behind_a_local_interface_is_beeped_on_the_callers_bridge_peer(
    kit: Kit,
) -> None:
    """AgentConnect names the Local leg (AGENT), which Asterisk optimises away once bridged:
    the beep goes to the channel the caller is bridged with, the agent's phone."""
    kit.actions.peers[CALLER] = "PJSIP/1001-00000003"
    start = kit.connect("c1", "t")
    await kit.until(start, 1.5 * U)
    assert kit.actions.calls == [("whisper", "PJSIP/1001-00000003", BEEP)]
    assert kit.levels() == [("c1", "t", "1001", AGENT, "warning")]


async def test_a_phone_interface_is_beeped_on_its_own_channel(kit: Kit) -> None:
    """PJSIP/<id> agents: AgentConnect's DestChannel is the phone's channel itself (no
    lookup; a supervisor in the same bridge changes nothing)."""
    kit.actions.peers[CALLER] = "PJSIP/9001-00000009"
    message = connect("c1", "t") | {"DestChannel": "PJSIP/1001-00000004"}
    kit.ami(message)
    [talk] = kit.monitor.talking()
    await kit.until(talk.started, 1.5 * U)
    assert kit.actions.calls == [("whisper", "PJSIP/1001-00000004", BEEP)]


async def test_a_local_leg_without_a_single_peer_is_beeped_itself(kit: Kit) -> None:
    start = kit.connect("c1", "t")  # no peer known (several, or the leg is still there)
    await kit.until(start, 1.5 * U)
    assert kit.actions.calls == [("whisper", AGENT, BEEP)]

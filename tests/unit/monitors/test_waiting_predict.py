"""WaitingMonitor with a wait predictor, on the fake clock: the prediction published at the
join, the early callback offer (once: the ladder's offer does not repeat it), the position
and wait announcements in the caller's language, at the join and every `every` s."""

from collections.abc import Mapping
from typing import Any

import pytest

from ivr.events.model import CallEscalated, WaitPredicted
from ivr.monitors.claims import SoleEngine
from ivr.monitors.predict import WaitPredictor
from ivr.monitors.waiting import Queued, Retry, WaitingMonitor
from ivr.queues.model import QueuesConfig
from ivr.routing.predict import Staffing
from ivr.tasks import TaskSet
from ivr.telephony import names
from tests.fake_clock import FakeClock
from tests.unit.monitors.kit import (
    CALLER,
    LINE,
    Actions,
    Prompts,
    Published,
    connect,
    join,
    queues,
    routed,
    subscribed,
    until,
    user_event,
)

TARGET = 20.0
OFFER_AT = 40.0  # the ladder's own offer
ANNOUNCE = {"position": True, "wait": True, "every": 30}
SOUNDS = {
    "queue_callback_offer": "ivr-tts/offer",
    "queue_callback_confirm": "ivr-tts/confirm",
    "queue_callback_no_number": "ivr-tts/no-number",
    "queue_position": "ivr-tts/position",
    "queue_wait": "ivr-tts/wait",
}


def config(**settings: Any) -> QueuesConfig:
    ladder = [{"after": TARGET, "raise_priority": 2}, {"after": OFFER_AT, "offer_callback": True}]
    return queues(
        {"q": {"answer_target": TARGET, "handle_time": 90, "escalation": ladder, **settings}},
        accept_key="1",
    )


class Kit:
    def __init__(self, tasks: TaskSet, queues_config: QueuesConfig, staffing: Staffing) -> None:
        self.clock = FakeClock()
        self.actions = Actions(self.clock.now)
        self.prompts = Prompts(SOUNDS)
        self.published = Published()
        self.staffing = staffing
        self.claims = SoleEngine()
        predictor = WaitPredictor(lambda queue: self.staffing, lambda queue: None)
        self.monitor = WaitingMonitor(
            lambda: queues_config,
            self.actions,
            self.prompts,
            self.published,
            tasks,
            self.clock,
            Retry(first=1000),
            claims=self.claims,
            predictor=predictor,
        )
        self.ami = subscribed(self.monitor)

    def join(
        self, call_id: str, position: int = 1, language: str = "uk", channel: str = CALLER
    ) -> float:
        self.monitor.on_ami(routed(call_id, "q", language=language))
        self.ami(join(call_id, "q", position, channel))
        waiter = self.monitor.waiter(call_id)
        assert waiter is not None
        return waiter.joined

    def whispers(self) -> list[tuple[float, str, str]]:
        return [
            (t, call[1], call[2])
            for t, call in zip(self.actions.times, self.actions.calls, strict=True)
            if call[0] == "whisper"
        ]

    def said(self, prompt: str) -> list[tuple[str, Mapping[str, str]]]:
        return [(lang, values) for name, lang, values in self.prompts.calls if name == prompt]


async def test_the_prediction_at_the_join_is_published_with_its_inputs(tasks: TaskSet) -> None:
    kit = Kit(tasks, config(), Staffing(ready=0, busy=2))
    kit.join("c1", position=3)
    await kit.clock.advance(0)
    [predicted] = kit.published.of(WaitPredicted)
    assert predicted == WaitPredicted(
        "c1", "q", 3, 0, 2, 90, 135.0, TARGET, at=predicted.at
    )  # 3 calls to end, 2 agents, 90 s each
    assert predicted.at == kit.clock.wall()
    assert kit.actions.calls == []  # no early offer, nothing to announce: not configured


async def test_a_predicted_wait_past_the_target_is_offered_the_callback_at_once(
    tasks: TaskSet,
) -> None:
    kit = Kit(tasks, config(early_callback=True), Staffing(ready=0, busy=1))
    start = kit.join("c1")
    await kit.clock.advance(0)
    [offer] = kit.published.of(CallEscalated)
    assert (offer.step, offer.wait, offer.failed) == ("offer_callback", 0.0, False)
    assert offer.detail == "press 1 (at the join: predicted 90 s > target 20 s)"
    assert kit.whispers() == [(start, CALLER, "ivr-tts/offer")]
    assert kit.actions.variables[CALLER][names.VAR_CALLBACK_OFFERED] == "1"
    await until(kit.clock, start, OFFER_AT + 10)
    steps = [e.step for e in kit.published.of(CallEscalated)]
    assert steps == ["offer_callback", "raise_priority"]  # the ladder's offer is not repeated
    assert len(kit.whispers()) == 1
    assert kit.actions.remembered[0][2] == (1,)  # kept on the channel for a later engine


async def test_a_called_back_caller_is_not_offered_another_callback_at_the_join(
    tasks: TaskSet,
) -> None:
    kit = Kit(tasks, config(early_callback=True), Staffing(ready=0, busy=1))
    answered = {"CallID": "c1", "CallbackID": "7", "Line": LINE, "Queue": "q"}
    kit.ami(user_event(names.EVENT_CALLBACK_ANSWERED, "c1", **answered, MenuLanguage="uk"))
    kit.ami(join("c1", "q", 1, CALLER))
    await kit.clock.advance(0)
    assert kit.published.of(WaitPredicted) and not kit.published.of(CallEscalated)
    assert kit.whispers() == []


@pytest.mark.parametrize(
    ("staffing", "early"),
    [(Staffing(ready=1, busy=0), False), (Staffing(ready=0, busy=0), True)],
    ids=["an agent is free", "nobody on duty"],
)
async def test_early_offer_only_when_the_wait_will_pass_the_target(
    tasks: TaskSet, staffing: Staffing, early: bool
) -> None:
    kit = Kit(tasks, config(early_callback=True, handle_time=5), staffing)
    kit.join("c1")
    await kit.clock.advance(0)
    assert bool(kit.published.of(CallEscalated)) is early
    assert kit.published.of(WaitPredicted)[0].predicted == (None if early else 0.0)


async def test_a_failed_early_offer_leaves_the_ladders_offer(tasks: TaskSet) -> None:
    kit = Kit(tasks, config(early_callback=True), Staffing(ready=0, busy=1))
    kit.actions.failures["set_variables"] = RuntimeError("AMI down")
    start = kit.join("c1")
    await kit.clock.advance(0)
    [failed] = kit.published.of(CallEscalated)
    assert failed.failed and failed.detail == "failed: AMI down"
    del kit.actions.failures["set_variables"]
    await until(kit.clock, start, OFFER_AT)
    assert [(e.step, e.failed) for e in kit.published.of(CallEscalated)][-1] == (
        "offer_callback",
        False,
    )


async def test_position_and_wait_are_said_in_his_language_then_the_offer(tasks: TaskSet) -> None:
    kit = Kit(tasks, config(early_callback=True, announce=ANNOUNCE), Staffing(0, 2))
    start = kit.join("c1", position=4, language="ru")
    await kit.clock.advance(0)
    # 4 ahead of the answer, 2 agents of 90 s: 180 s, told as 3 minutes
    assert kit.said("queue_position") == [("ru", {"position": "4"})]
    assert kit.said("queue_wait") == [("ru", {"minutes": "3"})]
    assert kit.whispers() == [(start, CALLER, "ivr-tts/position&ivr-tts/wait&ivr-tts/offer")]


async def test_announcements_repeat_with_the_place_he_has_then(tasks: TaskSet) -> None:
    kit = Kit(tasks, config(announce=ANNOUNCE), Staffing(0, 1))
    start = kit.join("c1", position=1)
    second = kit.join("c2", position=2, channel="PJSIP/trunk-00000009")
    await kit.clock.advance(0)
    assert [w[2] for w in kit.whispers()] == ["ivr-tts/position&ivr-tts/wait"] * 2
    assert [v["position"] for _, v in kit.said("queue_position")] == ["1", "2"]
    kit.ami(connect("c1", "q"))  # c1 is answered: c2 moves up
    await until(kit.clock, second, 30)
    assert [v["position"] for _, v in kit.said("queue_position")] == ["1", "2", "1"]
    assert [v["minutes"] for _, v in kit.said("queue_wait")] == ["2", "3", "2"]
    await until(kit.clock, start, 61)
    told = [w for w in kit.whispers() if "position" in w[2]]  # not the ladder's offer at 40 s
    assert len(told) == 4  # c2 again at 60 s; c1 never again
    assert {w[1] for w in told[2:]} == {"PJSIP/trunk-00000009"}


async def test_app_queue_announcing_leaves_the_engine_silent(tasks: TaskSet) -> None:
    announce = {**ANNOUNCE, "by": "asterisk"}
    kit = Kit(tasks, config(announce=announce), Staffing(0, 1))
    start = kit.join("c1")
    await until(kit.clock, start, 100)
    assert [w[2] for w in kit.whispers()] == ["ivr-tts/offer"]  # only the ladder's offer
    assert kit.said("queue_position") == []
    assert kit.published.of(WaitPredicted)  # still predicted and journalled


async def test_a_caller_adopted_at_a_resync_is_told_again_from_then_on(tasks: TaskSet) -> None:
    kit = Kit(tasks, config(announce=ANNOUNCE), Staffing(0, 1))
    kit.monitor.resync([Queued("c9", CALLER, "q", wait=100, priority=5)], alive={"c9"})
    start = kit.clock.now()
    await until(kit.clock, start, 29)
    assert kit.said("queue_position") == []  # no prediction for who joined unheard
    await until(kit.clock, start, 31)
    assert [v["position"] for _, v in kit.said("queue_position")] == ["1"]
    assert [w[2] for w in kit.whispers() if "position" in w[2]] == ["ivr-tts/position&ivr-tts/wait"]


async def test_a_caller_answered_before_the_greeting_is_not_whispered_to(tasks: TaskSet) -> None:
    kit = Kit(tasks, config(early_callback=True, announce=ANNOUNCE), Staffing(0, 1))
    kit.monitor.on_ami(routed("c1", "q"))
    kit.ami(join("c1", "q"))
    kit.ami(connect("c1", "q"))  # before the greeting task ran
    await kit.clock.advance(60)
    assert kit.whispers() == [] and kit.published.of(CallEscalated) == []
    assert len(kit.published.of(WaitPredicted)) == 1  # predicted all the same (journalled)

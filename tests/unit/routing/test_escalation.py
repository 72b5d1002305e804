"""The pure waiting/talking decisions: which mark is due when, and who may be called back."""

from datetime import UTC, datetime, timedelta
from typing import Any

from ivr.queues.model import EscalationStep, QueueSpec, parse_queues
from ivr.routing.escalation import (
    TARGET,
    Mark,
    TalkMark,
    Waiting,
    callback_may_dial,
    due_marks,
    next_mark,
    raised_priority,
    talk_marks,
    waiting_marks,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def queue(**settings: Any) -> QueueSpec:
    """Queue `q` of a queues.yaml with `settings` (overflow target: `b`)."""
    config = parse_queues(
        {
            "caller_classes": {"vip": {"priority": 10}},
            "fallback_queue": "q",
            "agents": {
                "1001": {"name": "A", "interface": "PJSIP/1001", "skills": {"q": 0, "b": 0}}
            },
            "queues": {"q": settings, "b": {"escalation": []}},
        }
    )
    return config.queues["q"]


LADDER = [
    {"after": 60, "overflow": "b"},
    {"after": 20, "raise_priority": 3},
    {"after": 40, "offer_callback": True},
]


def test_the_target_comes_first_then_the_ladder_by_time() -> None:
    spec = queue(answer_target=20, escalation=LADDER)
    marks = waiting_marks(spec)
    assert [(m.after, m.index) for m in marks] == [(20, TARGET), (20, 0), (40, 1), (60, 2)]
    assert marks[0].step is None
    assert [m.step.action for m in marks[1:] if m.step] == [
        "raise_priority",
        "offer_callback",
        "overflow",
    ]
    assert marks[1].step == EscalationStep(20, "raise_priority", raise_by=3)
    assert marks[3].step == EscalationStep(60, "overflow", queue="b")


def test_a_step_before_the_target_comes_before_it() -> None:
    marks = waiting_marks(queue(answer_target=30, escalation=[{"after": 10, "raise_priority": 1}]))
    assert [(m.after, m.index) for m in marks] == [(10, 0), (30, TARGET)]


def test_no_ladder_only_the_target() -> None:
    assert waiting_marks(queue(answer_target=15, escalation=[])) == (Mark(15, TARGET),)


def test_each_mark_is_due_once() -> None:
    marks = waiting_marks(queue(answer_target=20, escalation=LADDER))
    assert due_marks(marks, 19.999, done=()) == []
    due = due_marks(marks, 20, done=())
    assert [m.index for m in due] == [TARGET, 0]
    assert due_marks(marks, 20, done=[TARGET, 0]) == []
    # late: everything not done yet is due at once, in order
    assert [m.index for m in due_marks(marks, 100, done={TARGET})] == [0, 1, 2]
    assert [m.index for m in due_marks(marks, 45, done={TARGET, 0})] == [1]


def test_next_mark_skips_the_done_ones() -> None:
    marks = waiting_marks(queue(answer_target=20, escalation=LADDER))
    assert next_mark(marks, ()) == marks[0]
    assert next_mark(marks, {TARGET}) == marks[1]
    assert next_mark(marks, {TARGET, 1}) == marks[1]  # not in time order: the first not done
    assert next_mark(marks, {TARGET, 0}) == marks[2]
    assert next_mark(marks, {TARGET, 0, 1, 2}) is None


def test_raised_priority_adds_the_step() -> None:
    assert raised_priority(5, EscalationStep(20, "raise_priority", raise_by=3)) == 8
    assert raised_priority(0, EscalationStep(20, "raise_priority", raise_by=1)) == 1


def test_talk_marks_in_time_order() -> None:
    spec = queue(talk_warning=240, talk_guideline=300, hard_limit=600)
    assert talk_marks(spec) == (
        TalkMark(240, "warning"),
        TalkMark(300, "guideline"),
        TalkMark(600, "hard_limit"),
    )


def test_talk_marks_without_warning_or_hard_limit() -> None:
    assert talk_marks(queue(talk_warning=0, talk_guideline=300, hard_limit=0)) == (
        TalkMark(300, "guideline"),
    )
    assert talk_marks(queue(talk_warning=0, talk_guideline=300, hard_limit=400)) == (
        TalkMark(300, "guideline"),
        TalkMark(400, "hard_limit"),
    )
    assert talk_marks(queue(talk_warning=100, talk_guideline=300, hard_limit=0)) == (
        TalkMark(100, "warning"),
        TalkMark(300, "guideline"),
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_callback_waits_for_longer_waiting_callers_of_its_class_in_its_queue() -> None:
    callback = Waiting("q", "vip", at(5))
    assert callback_may_dial(callback, [])
    assert not callback_may_dial(callback, [Waiting("q", "vip", at(4))])
    # a later caller, another class, another queue: no reason to wait
    assert callback_may_dial(callback, [Waiting("q", "vip", at(6))])
    assert callback_may_dial(callback, [Waiting("q", "regular", at(1))])
    assert callback_may_dial(callback, [Waiting("b", "vip", at(1))])
    assert not callback_may_dial(
        callback,
        [Waiting("b", "vip", at(1)), Waiting("q", "regular", at(1)), Waiting("q", "vip", at(1))],
    )


def test_waited_as_long_is_not_longer() -> None:
    callback = Waiting("q", "vip", at(5))
    assert callback_may_dial(callback, [Waiting("q", "vip", at(5))])
    assert not callback_may_dial(callback, [Waiting("q", "vip", at(5) - timedelta(microseconds=1))])

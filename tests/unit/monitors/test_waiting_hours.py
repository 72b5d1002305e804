"""A callback taken while waiting, against operator hours (queues.yaml callbacks.hours) and
in the caller's language: the confirmation says by when, the request is not dialled before
the opening and keeps the language his call used. On a fake clock: Monday 11:00 in Kyiv."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from ivr.events.model import CallbackRequested
from ivr.flow.calendar import Calendar, parse_calendar
from ivr.monitors.waiting import WaitingMonitor
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.yamlfiles.problems import Problems
from tests.unit.monitors.kit import (
    CALLER,
    LINE,
    join,
    leave,
    queues,
    routed,
    subscribed,
    user_event,
)
from tests.unit.monitors.test_waiting import RETRY, SOUNDS, Kit

OFFER_AFTER = 10.0  # s: queue "c" offers the callback then
CONFIG = queues(
    {"c": {"answer_target": 10, "escalation": [{"after": OFFER_AFTER, "offer_callback": True}]}},
    promise=600,
    hours="operators",
)
LATER = "queue_callback_confirm_later"


def calendar(hours: str) -> Calendar:
    problems = Problems("calendar.yaml")
    data = {"timezone": "Europe/Kyiv", "schedules": {"operators": {"mon-sat": hours}}}
    parsed = parse_calendar(data, problems)
    assert not problems.items
    return parsed


def hours_kit(tasks: TaskSet, hours: str) -> Kit:
    kit = Kit(tasks, CONFIG)
    kit.prompts.sounds = {**SOUNDS, LATER: "ivr-tts/later"}
    kit.monitor = WaitingMonitor(
        lambda: CONFIG,
        kit.actions,
        kit.prompts,
        kit.published,
        tasks,
        kit.clock,
        RETRY,
        calendar=lambda: calendar(hours),
    )
    kit.ami = subscribed(kit.monitor)
    return kit


async def offered_and_taken(kit: Kit, language: str = "ru") -> CallbackRequested:
    """A caller of `language` waits in queue c, is offered the callback and takes it."""
    kit.monitor.on_ami(routed("c1", "c", language=language))
    kit.ami(_join())
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None
    await kit.until(waiter.joined, OFFER_AFTER + 0.1)
    kit.ami(leave("c1", "c"))
    kit.ami(user_event(names.EVENT_CALLBACK_ACCEPTED, "c1", CallID="c1", Line=LINE))
    [requested] = kit.published.of(CallbackRequested)
    return requested


def _join() -> dict[str, str]:
    return join("c1", "c")


def kyiv(text: str) -> datetime:
    return datetime.fromisoformat(text + "+02:00").astimezone(UTC)


async def test_in_hours_the_usual_confirmation_and_the_language_is_kept(tasks: TaskSet) -> None:
    kit = hours_kit(tasks, "08:00-22:00")
    requested = await offered_and_taken(kit)
    assert [(name, lang) for name, lang, _ in kit.prompts.calls] == [
        ("queue_callback_offer", "ru"),
        ("queue_callback_confirm", "ru"),
    ]
    assert kit.prompts.calls[1][2] == {"minutes": "10", "key": "1"}
    assert requested.language == "ru"
    assert requested.dial_from is None  # dialled in its turn, from now
    assert requested.promised_by - requested.at == timedelta(seconds=600)


async def test_in_hours_holds_when_the_wall_clock_moves_between_reads(
    tasks: TaskSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real clock is a little later at each read: the offer still judges hours by one."""
    kit = hours_kit(tasks, "08:00-22:00")
    read, ticks = kit.clock.wall, itertools.count()
    monkeypatch.setattr(kit.clock, "wall", lambda: read() + timedelta(microseconds=next(ticks)))
    await offered_and_taken(kit)
    assert [name for name, _, _ in kit.prompts.calls] == [
        "queue_callback_offer",
        "queue_callback_confirm",
    ]


async def test_just_before_closing_the_promise_runs_to_the_next_opening(tasks: TaskSet) -> None:
    """Closing at 11:05 with 4 min 50 s left: the other 5 min 10 s from Tuesday 08:00."""
    kit = hours_kit(tasks, "08:00-11:05")
    requested = await offered_and_taken(kit)
    name, language, values = kit.prompts.calls[1]
    assert (name, language) == (LATER, "ru")
    assert (values["callback_from"], values["callback_by"]) == ("11:00", "06.01 08:05")
    assert kit.actions.variables[CALLER][names.VAR_CALLBACK_CONFIRM] == "ivr-tts/later"
    assert requested.dial_from is None  # still open: dialled now
    assert requested.promised_by == kyiv("2026-01-06T08:05:10.1")  # taken at 11:00:10.1


async def test_after_hours_the_caller_is_told_the_opening_and_not_dialled_before(
    tasks: TaskSet,
) -> None:
    kit = hours_kit(tasks, "12:00-22:00")
    requested = await offered_and_taken(kit, language="en")
    name, language, values = kit.prompts.calls[1]
    assert (name, language) == (LATER, "en")
    assert (values["callback_from"], values["callback_by"]) == ("12:00", "12:10")
    assert requested.dial_from == kyiv("2026-01-05T12:00:00")
    assert requested.promised_by == kyiv("2026-01-05T12:10:00")
    assert requested.language == "en"


async def test_a_called_back_caller_keeps_his_language_in_the_queue(tasks: TaskSet) -> None:
    """A called-back caller offered a callback again hears it in his language."""
    kit = hours_kit(tasks, "08:00-22:00")
    kit.ami(
        user_event(
            names.EVENT_CALLBACK_ANSWERED,
            "c1",
            CallID="c1",
            CallbackID="7",
            Line=LINE,
            Queue="c",
            Class="vip",
            QueuePriority="10",
            MenuLanguage="ru",
        )
    )
    kit.ami(_join())
    waiter = kit.monitor.waiter("c1")
    assert waiter is not None and waiter.language == "ru"

"""CallbackDialer against operator hours (queues.yaml callbacks.hours) and in the caller's
language: nothing is dialled while closed (a request taken after hours, a retry that falls
after closing), and the answered caller is greeted in the language his call used. On a
fake clock: Monday 11:00 in Kyiv."""

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import CallbackRequested
from ivr.flow.calendar import Calendar, parse_calendar
from ivr.monitors.callbacks import CallbackDialer
from ivr.queues.model import QueuesConfig
from ivr.storage.reports import write_reports
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.yamlfiles.problems import Problems
from tests.unit.monitors.kit import LINE, Prompts, subscribed
from tests.unit.monitors.test_callbacks import CONFIG, PHONE, RETRY, Kit, sessions

GREETINGS = {"callback_greeting": "ivr-tts/greeting"}
__all__ = ["sessions"]  # the fixture: a CallbackStore's SQLite in tmp_path


def calendar(hours: str) -> Calendar:
    problems = Problems("calendar.yaml")
    data = {"timezone": "Europe/Kyiv", "schedules": {"operators": {"mon-sat": hours}}}
    parsed = parse_calendar(data, problems)
    assert not problems.items
    return parsed


class HoursKit(Kit):
    def __init__(self, sessions: sessionmaker[Session], tasks: TaskSet, hours: str) -> None:
        super().__init__(sessions, tasks)
        self.prompts = Prompts(GREETINGS)
        policy = dataclasses.replace(CONFIG.callbacks, hours="operators")
        self.config: QueuesConfig = dataclasses.replace(CONFIG, callbacks=policy)
        self.hours = hours
        self.dialer = CallbackDialer(
            lambda: self.config,
            self.store,
            self.originator,
            lambda: list(self.waiting),
            self.has_ready_agent,
            self.published,
            tasks,
            self.clock,
            prompt_sound=self.prompts,
            calendar=lambda: calendar(self.hours),
        )
        self.originator.ami = subscribed(self.dialer)

    def ask(self, call_id: str, language: str = "ru", after: float = 0.0) -> None:
        """A request in `language`, not to be dialled before `after` s from now."""
        now = self.clock.wall()
        event = CallbackRequested(
            call_id,
            LINE,
            PHONE,
            "Kovalchuk",
            "a",
            "vip",
            promised_by=now + timedelta(minutes=30),
            language=language,
            dial_from=now + timedelta(seconds=after) if after else None,
        )
        write_reports(self.sessions, [event])


@pytest.fixture
def open_kit(sessions: sessionmaker[Session], tasks: TaskSet) -> HoursKit:
    return HoursKit(sessions, tasks, "08:00-22:00")


async def test_the_greeting_is_in_the_language_the_call_used(open_kit: HoursKit) -> None:
    open_kit.ask("c1", language="ru")
    open_kit.originator.reasons = ["4"]
    await open_kit.dial()
    [call] = open_kit.originator.calls
    assert call["variables"][names.VAR_LANGUAGE] == "ru"
    assert call["variables"][names.VAR_CALLBACK_GREETING] == "ivr-tts/greeting"
    assert open_kit.prompts.calls == [("callback_greeting", "ru", {})]


async def test_a_language_that_is_no_code_is_not_passed_on(open_kit: HoursKit) -> None:
    open_kit.ask("c1", language="ru,X=1")
    open_kit.originator.reasons = ["4"]
    await open_kit.dial()
    [call] = open_kit.originator.calls
    assert call["variables"][names.VAR_LANGUAGE] == ""
    assert open_kit.prompts.calls == [("callback_greeting", "", {})]  # the default's


async def test_without_the_greeting_prompt_the_caller_is_still_called(
    open_kit: HoursKit, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(name: str, language: str, values: object) -> str | None:
        raise OSError("espeak-ng is missing")

    open_kit.dialer._prompt_sound = broken
    open_kit.ask("c1")
    open_kit.originator.reasons = ["4"]
    await open_kit.dial()
    [call] = open_kit.originator.calls
    assert call["variables"][names.VAR_CALLBACK_GREETING] == ""
    assert "no greeting 'callback_greeting' (espeak-ng is missing): dialled without" in caplog.text


async def test_nothing_is_dialled_while_closed_then_at_the_opening(
    sessions: sessionmaker[Session], tasks: TaskSet
) -> None:
    kit = HoursKit(sessions, tasks, "12:00-22:00")  # 11:00 now: opens in an hour
    kit.ask("c1")
    kit.originator.reasons = ["4"]
    assert not kit.dialer.in_hours()
    await kit.dial()
    await kit.clock.advance(3599)
    await kit.dial()
    assert kit.originator.calls == []
    await kit.clock.advance(1)
    await kit.dial()
    assert len(kit.originator.calls) == 1


async def test_a_request_taken_after_hours_waits_for_its_first_dial(open_kit: HoursKit) -> None:
    open_kit.ask("c1", after=600)  # e.g. a flow's request at night: from the opening
    open_kit.originator.reasons = ["4"]
    await open_kit.dial()
    await open_kit.clock.advance(599)
    await open_kit.dial()
    assert open_kit.originator.calls == []
    await open_kit.clock.advance(1)
    await open_kit.dial()
    assert len(open_kit.originator.calls) == 1


async def test_a_retry_that_falls_after_closing_waits_for_the_next_opening(
    sessions: sessionmaker[Session], tasks: TaskSet
) -> None:
    kit = HoursKit(sessions, tasks, "08:00-11:01")  # closes a minute from now
    kit.ask("c1")
    kit.originator.reasons = ["3", "4"]
    await kit.dial()
    assert len(kit.originator.calls) == 1  # no answer: retried RETRY (120 s) later
    await kit.clock.advance(RETRY)  # 11:02: closed
    await kit.dial()
    assert len(kit.originator.calls) == 1
    await kit.clock.advance(timedelta(hours=20, minutes=58).total_seconds())  # Tue 08:00
    await kit.dial()
    assert len(kit.originator.calls) == 2


async def test_a_schedule_calendar_yaml_lost_is_dialled_at_any_time(
    sessions: sessionmaker[Session], tasks: TaskSet, caplog: pytest.LogCaptureFixture
) -> None:
    kit = HoursKit(sessions, tasks, "12:00-22:00")
    policy = dataclasses.replace(kit.config.callbacks, hours="gone")
    kit.config = dataclasses.replace(kit.config, callbacks=policy)
    kit.ask("c1")
    kit.originator.reasons = ["4"]
    await kit.dial()
    assert len(kit.originator.calls) == 1
    assert "no schedule 'gone' in calendar.yaml: dialled at any time" in caplog.text

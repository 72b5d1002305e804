"""The callbacks as ivr/app.py wires them (no Asterisk): the dialer and the waiting monitor
read operator hours from the flows' calendar (queues.yaml callbacks.hours), and a prompt
asked for in a language it lacks is played in the default one, logged."""

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.app import Engine
from ivr.config import load_settings
from ivr.storage.db import migrate


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    settings = replace(
        load_settings(env={}),
        database_url=url,
        var_dir=str(tmp_path / "var"),
        prompt_cache_dir=str(tmp_path / "prompts"),
    )
    engine = Engine(settings)
    yield engine
    await engine.tasks.cancel_all()
    engine.db.dispose()


def test_the_dialer_and_the_offer_read_the_flows_calendar(engine: Engine) -> None:
    assert engine.queues.callbacks.hours == "operators"  # as shipped
    calendar = engine.flows.calendar
    assert "operators" in calendar.schedules
    assert engine.site.callbacks._calendar() is calendar
    assert engine.site.waiting._calendar() is calendar


async def test_a_greeting_in_a_language_it_lacks_is_the_default_one_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "ivr.app")
    russian = await engine._prompt_sound("callback_greeting", "ru", {})
    assert "callback_greeting" not in caplog.text  # it has a Russian version
    hungarian = await engine._prompt_sound("callback_greeting", "hu", {})
    ukrainian = await engine._prompt_sound("callback_greeting", "uk", {})
    assert hungarian == ukrainian != russian
    assert "prompt 'callback_greeting' has no 'hu' version: the 'uk' one is played" in caplog.text


def test_callbacks_hours_naming_no_calendar_schedule_is_a_warning(
    engine: Engine, tmp_path: Path
) -> None:
    """queues.yaml's callbacks.hours names a schedule of flows/calendar.yaml: one it does not
    have is a warning at its line and column (callbacks are then dialled at any time)."""
    shipped = Path(engine.settings.queues_file).read_text(encoding="utf-8")
    broken = tmp_path / "queues.yaml"
    broken.write_text(shipped.replace("hours: operators", "hours: operator"), encoding="utf-8")
    line = next(i for i, text in enumerate(shipped.splitlines(), 1) if "hours: operators" in text)
    engine.settings = replace(engine.settings, queues_file=str(broken))
    config = replace(engine.queues, callbacks=replace(engine.queues.callbacks, hours="operator"))
    validation = engine._validate_flows(config)
    assert validation.library is not None
    [problem] = validation.problems
    assert problem.warning
    assert str(problem) == (
        f"{broken}:{line}:10: warning: callbacks.hours: unknown schedule 'operator' (not in"
        " calendar.yaml schedules: meter_readings, operators): callbacks are dialled at any time"
    )
    assert engine._validate_flows(engine.queues).problems == []  # as shipped

"""Fixtures shared by the unit tests."""

import logging
from collections.abc import AsyncIterator

import pytest

from ivr.tasks import TaskSet


@pytest.fixture
async def tasks(caplog: pytest.LogCaptureFixture) -> AsyncIterator[TaskSet]:
    """A TaskSet none of whose background tasks may fail (TaskSet logs it as an error)."""
    caplog.set_level(logging.INFO)
    tasks = TaskSet("test")
    yield tasks
    await tasks.cancel_all()
    failed = [r for r in caplog.records if r.name == "ivr.tasks" and r.levelno >= logging.ERROR]
    assert failed == [], [r.getMessage() for r in failed]

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.db import make_engine, make_session_factory, migrate
from ivr.tasks import TaskSet


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite store in a temporary file."""
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    migrate(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
async def tasks(caplog: pytest.LogCaptureFixture) -> AsyncIterator[TaskSet]:
    """A TaskSet no task of which may fail (TaskSet logs a failure as an error)."""
    caplog.set_level(logging.INFO)
    tasks = TaskSet("test")
    yield tasks
    await tasks.cancel_all()
    failed = [r for r in caplog.records if r.name == "ivr.tasks" and r.levelno >= logging.ERROR]
    assert failed == [], [r.getMessage() for r in failed]

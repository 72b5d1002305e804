"""API tests run the real aiohttp app on the real stores, on SQLite and PostgreSQL (the
database fixtures are tests/storage's)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.batch import Tuning
from ivr.storage.reports import ReportWriter
from ivr.tasks import TaskSet
from tests.storage.conftest import db_schema, db_url, engine, pg_admin, sessions
from tests.web.kit import Clock, Kit, copy_flows

__all__ = ["db_schema", "db_url", "engine", "pg_admin", "sessions"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kit(sessions: sessionmaker[Session], tmp_path: Path, clock: Clock) -> Kit:
    return Kit(sessions, copy_flows(tmp_path), clock)


@pytest.fixture
async def client(kit: Kit) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(kit.app())) as client:
        yield client


@pytest.fixture
async def report_writer(kit: Kit) -> AsyncIterator[ReportWriter]:
    """The engine's ReportWriter listening to what the API publishes."""
    writer = ReportWriter(kit.sessions, Tuning(quiet=0.01, max_delay=0.05, retry_initial=0.01))
    kit.writers.append(writer)
    tasks = TaskSet("test-reports")
    tasks.spawn(writer.run(), name="reports")
    yield writer
    await writer.stop(timeout=5)
    await tasks.cancel_all()

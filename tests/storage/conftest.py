"""Storage tests run on SQLite (a tmp_path file) and PostgreSQL (a fresh schema per test).

PostgreSQL: IVR_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.
When it is unreachable the PostgreSQL tests fail, they never skip.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.batch import Tuning
from ivr.storage.db import make_engine, make_session_factory, migrate
from ivr.storage.journal import CallJournal
from ivr.storage.repository import JournalRepository
from ivr.tasks import TaskSet

PG_URL = os.environ.get(
    "IVR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An engine on the PostgreSQL test database; fails the test when it is unreachable."""
    engine = make_engine(PG_URL)
    shown = make_url(PG_URL).render_as_string(hide_password=True)
    reason = ""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if reason:  # failed outside the except block: one clear message, no chained traceback
        engine.dispose()
        pytest.fail(
            f"PostgreSQL not reachable at {shown}: start it or set IVR_TEST_POSTGRES_URL "
            f"({reason})",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'ivr.db'}"  # var/ does not exist yet
    request.getfixturevalue("pg_admin")
    return PG_URL


@pytest.fixture
def db_schema(request: pytest.FixtureRequest, db_url: str) -> Iterator[str | None]:
    """PostgreSQL: a fresh schema for this test, dropped afterwards. SQLite: None."""
    if not db_url.startswith("postgresql"):
        yield None
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    schema = f"ivr_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def engine(db_url: str, db_schema: str | None) -> Iterator[Engine]:
    engine = make_engine(db_url, db_schema)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db_url: str, db_schema: str | None, engine: Engine) -> sessionmaker[Session]:
    """A session factory on a migrated database."""
    migrate(db_url, db_schema)
    return make_session_factory(engine)


@pytest.fixture
def repository(sessions: sessionmaker[Session]) -> JournalRepository:
    return JournalRepository(sessions)


@pytest.fixture
async def journal(sessions: sessionmaker[Session]) -> AsyncIterator[CallJournal]:
    """A running journal (fast retries), stopped after the test."""
    journal = CallJournal(sessions, Tuning(retry_initial=0.01, retry_max=0.05))
    tasks = TaskSet("test-journal")
    tasks.spawn(journal.run(), name="journal")
    yield journal
    await journal.stop(timeout=5)
    await tasks.cancel_all()

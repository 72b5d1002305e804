"""Engines and migrations on both backends."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ivr.storage.db import MIGRATIONS_DIR, make_engine, migrate
from ivr.storage.models import Base


def test_migrate_creates_the_table_and_is_idempotent(
    db_url: str, db_schema: str | None, engine: Engine
) -> None:
    migrate(db_url, db_schema)
    migrate(db_url, db_schema)  # second run: nothing to do, no error

    inspector = inspect(engine)
    assert {"call_journal", "alembic_version"} <= set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("call_journal")}
    assert {"call_id", "line", "menu_path", "fell_back", "outcome", "ended_at"} <= columns
    [index] = inspector.get_indexes("call_journal")
    assert (index["name"], index["column_names"], bool(index["unique"])) == (
        "ix_call_journal_call_id",
        ["call_id"],
        True,
    )
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0001"


def test_migrations_match_the_models(db_url: str, db_schema: str | None, engine: Engine) -> None:
    migrate(db_url, db_schema)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_call_journal.py").is_file()


def test_sqlite_file_gets_its_directory_wal_and_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "var" / "ivr.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert path.is_file()
    finally:
        engine.dispose()


def test_postgresql_url_without_driver_uses_psycopg() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")  # never connects
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "schema", "message"),
    [
        ("sqlite:///x.db", "s", "only supported on PostgreSQL"),
        ("postgresql+psycopg://h/db", "bad; DROP", "lower-case SQL identifier"),
    ],
    ids=["sqlite", "bad-name"],
)
def test_schema_is_checked(url: str, schema: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_engine(url, schema)

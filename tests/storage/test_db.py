"""Engines and migrations on both backends."""

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ivr.storage.db import MIGRATIONS_DIR, alembic_config, make_engine, migrate
from ivr.storage.models import Base

TABLES = {
    "call_journal",
    "subscribers",
    "subscriber_phones",
    "outages",
    "unreachable_reports",
    "meter_readings",
    "callback_requests",
}


def test_migrate_creates_the_table_and_is_idempotent(
    db_url: str, db_schema: str | None, engine: Engine
) -> None:
    migrate(db_url, db_schema)
    migrate(db_url, db_schema)  # second run: nothing to do, no error

    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == TABLES | {"alembic_version"}
    columns = {c["name"] for c in inspector.get_columns("call_journal")}
    assert {"call_id", "line", "menu_path", "fell_back", "outcome", "ended_at"} <= columns
    assert "finished_in_menu_at" in columns
    [index] = inspector.get_indexes("call_journal")
    assert (index["name"], index["column_names"], bool(index["unique"])) == (
        "ix_call_journal_call_id",
        ["call_id"],
        True,
    )
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0002"


def test_migration_0002_adds_the_directory_and_report_tables(
    db_url: str, db_schema: str | None, engine: Engine
) -> None:
    migrate(db_url, db_schema)
    inspector = inspect(engine)
    phone_indexes = {
        i["name"]: i["column_names"] for i in inspector.get_indexes("subscriber_phones")
    }
    assert phone_indexes["ix_subscriber_phones_phone"] == ["phone"]
    [fk] = inspector.get_foreign_keys("subscriber_phones")
    assert (fk["referred_table"], fk["options"].get("ondelete")) == ("subscribers", "CASCADE")
    report_indexes = {i["name"] for i in inspector.get_indexes("unreachable_reports")}
    assert "ix_unreachable_reports_reported_line" in report_indexes

    # Down to 0001 and up again: the journal keeps its rows.
    config = alembic_config(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO call_journal (call_id, fell_back) VALUES ('k1', false)"))
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert set(inspect(engine).get_table_names()) == {"call_journal", "alembic_version"}
    migrate(db_url, db_schema)
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT call_id FROM call_journal")) == "k1"


def test_migrations_match_the_models(db_url: str, db_schema: str | None, engine: Engine) -> None:
    migrate(db_url, db_schema)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_call_journal.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0002_directory_and_reports.py").is_file()


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

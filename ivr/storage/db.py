"""Engines, sessions and migrations for the call journal (SQLite by default, or PostgreSQL)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 10
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Serialises concurrent `migrate` runs of several engines sharing one PostgreSQL database.
_PG_MIGRATE_LOCK = 0x1F5_0001


def _resolve(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the installed driver
    return parsed


def _is_sqlite_file(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for `url`; `schema` (PostgreSQL only) becomes the connection's search_path."""
    parsed = _resolve(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if schema is not None:
        if backend != "postgresql":
            raise ValueError(f"schema {schema!r}: only supported on PostgreSQL, not {backend}")
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema {schema!r}: expected a lower-case SQL identifier")
        connect_args["options"] = f"-csearch_path={schema}"
    if backend == "postgresql":
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    if _is_sqlite_file(parsed):
        assert parsed.database is not None
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args=connect_args)
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


# Page cache per connection (SQLite's default: 2000 KiB): a soak of 10000 calls grew the
# engine's RSS by ~1 MB per 1000 calls until each pooled connection's cache was full.
SQLITE_CACHE_KIB = 256


def _configure_sqlite(engine: Engine) -> None:
    """WAL (readers never block the writer), a busy timeout instead of instant 'database is
    locked', and real BEGIN so transactions (and migrations' DDL) are atomic."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite: stop its own implicit BEGINs
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across app crashes
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # bounded memory
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_WRITE_OPTION = "ivr_write"


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer. On SQLite a transaction that reads and
    then writes cannot wait for the write lock (busy_timeout does not apply to that upgrade:
    "database is locked" at once), so it takes the lock at BEGIN; elsewhere a no-op."""
    session.connection(execution_options={_WRITE_OPTION: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic configured in code: works from an installed package, no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser interpolation: a literal % (e.g. in a password) is written %%.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, schema: str | None = None) -> None:
    """Bring the database up to the newest migration (idempotent)."""
    engine = make_engine(url, schema)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATE_LOCK}
                )
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


@contextmanager
def open_store(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated database at `url` for a command's lifetime (the engine is
    disposed after)."""
    migrate(url)
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()

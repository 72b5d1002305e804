"""Engines, sessions and migrations for the call journal (SQLite by default, or PostgreSQL)."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
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


@dataclass(frozen=True)
class DbTimeouts:
    """How long the engine waits on the database (seconds; 0 = no limit). PostgreSQL ends a
    statement, a lock wait or an idle transaction on the server; TCP keepalives and
    tcp_user_timeout drop a connection whose peer went away (half-open); `pool` bounds the
    wait for a free connection, so a request fails fast instead of queueing behind hung
    ones."""

    connect: float = 5.0
    statement: float = 15.0
    lock: float = 5.0
    idle_in_transaction: float = 60.0
    pool: float = 5.0
    keepalive_idle: int = 10  # seconds idle before the first probe
    keepalive_interval: int = 5
    keepalive_count: int = 3
    tcp_user_timeout: float = 15.0  # sent data unacknowledged this long: connection dead

    def pg_connect_args(self) -> dict[str, Any]:
        """psycopg/libpq connection parameters (`options` set by make_engine)."""
        return {
            "connect_timeout": max(1, round(self.connect)),
            "keepalives": 1,
            "keepalives_idle": self.keepalive_idle,
            "keepalives_interval": self.keepalive_interval,
            "keepalives_count": self.keepalive_count,
            "tcp_user_timeout": round(self.tcp_user_timeout * 1000),
        }

    def pg_options(self) -> list[str]:
        """Server settings for every session, as `-c name=value` options (milliseconds)."""
        ms = {
            "statement_timeout": self.statement,
            "lock_timeout": self.lock,
            "idle_in_transaction_session_timeout": self.idle_in_transaction,
        }
        return [f"-c{name}={round(seconds * 1000)}" for name, seconds in ms.items()]


# Migrations may rewrite a large table: no statement timeout for them.
MIGRATION_TIMEOUTS = DbTimeouts(statement=0, lock=0)


def make_engine(url: str, schema: str | None = None, timeouts: DbTimeouts = DbTimeouts()) -> Engine:
    """An engine for `url`; `schema` (PostgreSQL only) becomes the connection's search_path.
    `timeouts` apply to PostgreSQL (SQLite: its busy timeout, and `pool`)."""
    parsed = _resolve(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    options: list[str] = []
    if schema is not None:
        if backend != "postgresql":
            raise ValueError(f"schema {schema!r}: only supported on PostgreSQL, not {backend}")
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema {schema!r}: expected a lower-case SQL identifier")
        options.append(f"-csearch_path={schema}")
    if backend == "postgresql":
        given = parsed.query.get("options")  # ?options=-csearch_path%3Dx in the URL: kept
        if given:
            options[:0] = [given] if isinstance(given, str) else list(given)
            parsed = parsed.difference_update_query(["options"])
        connect_args.update(timeouts.pg_connect_args())
        connect_args["options"] = " ".join([*options, *timeouts.pg_options()])
        return create_engine(
            parsed, connect_args=connect_args, pool_pre_ping=True, pool_timeout=timeouts.pool
        )
    pooled: dict[str, Any] = {}
    if _is_sqlite_file(parsed):
        assert parsed.database is not None
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        pooled["pool_timeout"] = timeouts.pool  # a memory database has a one-connection pool
    engine = create_engine(parsed, connect_args=connect_args, **pooled)
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


def begin_write(session: Session, lock: int | None = None) -> None:
    """Start the session's transaction as a writer. On SQLite a transaction that reads and
    then writes cannot wait for the write lock (busy_timeout does not apply to that upgrade:
    "database is locked" at once), so it takes the lock at BEGIN. On PostgreSQL `lock` (an
    advisory lock key) serialises the writers that read, then write the same rows."""
    connection = session.connection(execution_options={_WRITE_OPTION: True})
    if lock is not None and connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})


def conflict_insert(dialect: str, table: Any, what: str) -> postgresql.Insert | sqlite.Insert:
    """INSERT into `table` that takes ON CONFLICT clauses, for the database `dialect`
    (SQLite or PostgreSQL; `what` names the writer in the error for any other)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"{what}: no upsert for database {dialect!r}")


@contextmanager
def writing(session_factory: Callable[[], Session], lock: int | None = None) -> Iterator[Session]:
    """The one write path: a session in a write transaction (begin_write), committed when
    the block ends, rolled back if it raises."""
    with session_factory() as session, session.begin():
        begin_write(session, lock)
        yield session


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> "Config":
    """Alembic configured in code: works from an installed package, no alembic.ini.
    (alembic is imported here, not at the top: the AGI scripts, a process per call, never
    migrate and start 0.13 s sooner without it.)"""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser interpolation: a literal % (e.g. in a password) is written %%.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, schema: str | None = None) -> None:
    """Bring the database up to the newest migration (idempotent)."""
    engine = make_engine(url, schema, MIGRATION_TIMEOUTS)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATE_LOCK}
                )
            config = alembic_config(url)
            config.attributes["connection"] = connection
            from alembic import command

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

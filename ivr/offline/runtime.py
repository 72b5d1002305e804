"""What a classic AGI script reads, as the engine reads it: the engine's settings file,
queues.yaml, the flows and the database (short timeouts: a caller is waiting)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ivr.config import Settings, load_settings
from ivr.flow.loader import load_library
from ivr.flow.model import FlowLibrary
from ivr.queues.model import QueuesConfig, load_queues
from ivr.storage.db import DbTimeouts, make_engine, make_session_factory
from ivr.storage.directory import SessionFactory

# Where the scripts find the engine's settings (the same file the engine reads: its
# database_url, flows_dir, queues_file...) unless IVR_CONFIG names another.
SETTINGS_FILE = Path("/etc/ivr/ivr.yaml")


def script_settings(env: dict[str, str] | None = None) -> Settings:
    """The engine's settings as a script sees them (ConfigError when unreadable)."""
    env = dict(os.environ) if env is None else env
    path = env.get("IVR_CONFIG") or (str(SETTINGS_FILE) if SETTINGS_FILE.exists() else None)
    return load_settings(path, env)


@dataclass(frozen=True)
class ScriptConfig:
    settings: Settings
    queues: QueuesConfig
    library: FlowLibrary


def load_config(settings: Settings) -> ScriptConfig:
    """queues.yaml and the flow library, validated as the engine validates them."""
    queues = load_queues(settings.queues_file)
    library = load_library(settings.flows_dir, None, queues.queues, queues.caller_classes)
    return ScriptConfig(settings, queues, library)


def script_timeouts(settings: Settings) -> DbTimeouts:
    """The engine's call-path wait (db_call_timeout) for every statement and connection."""
    wait = settings.db_call_timeout
    return DbTimeouts(connect=wait, statement=wait, lock=wait, pool=wait, tcp_user_timeout=wait)


class MissingDatabase(SQLAlchemyError):
    """The settings name a SQLite file that is not there: the scripts do not create one."""


@contextmanager
def database(settings: Settings) -> Iterator[SessionFactory]:
    """Sessions on the engine's database (its URL, the call path's timeouts)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(str(url.database)).exists():
            raise MissingDatabase(f"no database at {url.database} (database_url)")
    engine = make_engine(settings.database_url, timeouts=script_timeouts(settings))
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()

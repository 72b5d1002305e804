"""Dead letters: events a storage writer set aside because the database refused their data.

A writer (ivr.storage.batch) tells two kinds of failure apart (`about_the_data`):
- the data: a value out of range, a constraint, a key too long for its index, a value the
  model or the limits (ivr.storage.limits) refuse. Retrying cannot help: the writer finds
  the refused rows, writes the others and hands the refused ones to a DeadLetterStore.
- everything else (the database gone, a lock, a timeout, a missing table): retried with
  backoff until written, nothing set aside.
The store inserts into the `dead_letters` table; if even that fails (the database refuses
or is gone), it appends JSON lines to a file (under the engine's var/ directory), so no
event is dropped.
"""

import dataclasses
import enum
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from ivr.storage.db import writing
from ivr.storage.models import DeadLetterRecord

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]

# SQLSTATE classes (PostgreSQL, psycopg's `sqlstate`) that are about the row: 22 data
# exception (out of range, bad encoding...), 23 integrity constraint, 54 program limit
# exceeded (54000: "index row size exceeds btree maximum"; psycopg files it under
# OperationalError, so the class decides, not the exception type).
DATA_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})
# Raised before the database sees the row: a value the driver or the model cannot take
# (SQLite: "Python int too large to convert to SQLite INTEGER"; UnicodeError is a
# ValueError; ivr.storage.limits.TooLong too).
PYTHON_DATA_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, OverflowError)
SQLITE_DATA_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, sqlite3.DataError)


def about_the_data(exc: BaseException) -> bool:
    """Whether `exc` (from writing a batch) says the rows are unstorable, rather than that
    the database cannot be reached or is busy (see the module doc)."""
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return sqlstate[:2] in DATA_SQLSTATE_CLASSES
        return isinstance(exc, (DataError, IntegrityError)) or isinstance(
            exc.orig, SQLITE_DATA_ERRORS
        )
    if isinstance(exc, StatementError):  # raised while binding: the value, not the database
        return isinstance(exc.orig, PYTHON_DATA_ERRORS)
    return isinstance(exc, PYTHON_DATA_ERRORS)


def brief(exc: BaseException) -> str:
    """One line, without the SQL and parameters (caller numbers) SQLAlchemy adds."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return repr(value)


def as_json(item: object) -> str:
    """An event as one line of ASCII JSON: {"event": its class, ...its fields} (enough to
    replay it). ASCII escapes keep NUL and lone surrogates storable."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        data: object = {"event": type(item).__name__, **dataclasses.asdict(item)}
    else:
        data = {"event": type(item).__name__, "value": repr(item)}
    return json.dumps(data, default=_plain, ensure_ascii=True)


@dataclass(frozen=True)
class DeadLetter:
    writer: str
    row: str  # the event as JSON (as_json)
    error: str  # one line, without SQL or parameters
    at: datetime


class DeadLetterStore:
    """Blocking (call it from the writer's worker thread). Shared by the engine's writers."""

    def __init__(self, session_factory: SessionFactory, spill_file: Path | None = None) -> None:
        self._session_factory = session_factory
        self._spill_file = spill_file

    @property
    def spill_file(self) -> Path | None:
        return self._spill_file

    def keep(self, letters: Sequence[DeadLetter]) -> str:
        """Store `letters`: in the table, or else in the spill file. Returns where ("table"
        or the file's path); raises (OSError, a database error) when neither took them, so
        the writer keeps them and tries again."""
        rows = [dataclasses.asdict(letter) for letter in letters]
        try:
            with writing(self._session_factory) as session:
                session.execute(insert(DeadLetterRecord), rows)
            return "table dead_letters"
        except Exception as exc:
            if self._spill_file is None:
                raise
            log.error(
                "dead letters: table dead_letters refused %d rows (%s), writing them to %s",
                len(rows),
                brief(exc),
                self._spill_file,
            )
        self._spill(rows)
        return str(self._spill_file)

    def _spill(self, rows: Sequence[dict[str, object]]) -> None:
        assert self._spill_file is not None
        self._spill_file.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(row, default=_plain, ensure_ascii=True) + "\n" for row in rows)
        with self._spill_file.open("a", encoding="ascii") as spill:
            spill.write(lines)
            spill.flush()

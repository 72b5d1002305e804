"""SQLite query plans of what a repository sends to the call journal."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def journal_query_plans(engine: Engine) -> Iterator[list[str]]:
    """SQLite: the EXPLAIN QUERY PLAN lines of each query on the call journal run on
    `engine` in the block (the statement as sent, its parameters bound), after it."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM call_journal" in statement:
            sent.append((statement, parameters))

    plans: list[str] = []
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield plans
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as conn:
        for statement, parameters in sent:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append("\n".join(row.detail for row in rows))

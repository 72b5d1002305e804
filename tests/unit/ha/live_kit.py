"""Fakes for the shared live state's tests: the store in memory, blocking calls inline."""

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ivr.storage.live_state import LiveRow


class Rows:
    """The store in memory; `down` makes every call fail as a database outage would."""

    def __init__(self) -> None:
        self.rows: dict[str, LiveRow] = {}
        self.down = False

    def write(self, asterisk: str, engine: str, payload: Mapping[str, Any]) -> None:
        if self.down:
            raise ConnectionError("database unavailable (live: timed out)")
        self.rows[asterisk] = LiveRow(asterisk, engine, 0.0, payload)

    def read(self, asterisks: Collection[str] | None = None) -> list[LiveRow]:
        if self.down:
            raise ConnectionError("database unavailable (live: timed out)")
        return list(self.rows.values())


async def inline(call: Callable[..., Any], *args: Any) -> Any:
    return call(*args)

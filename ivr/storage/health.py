"""Is the database answering? One state for the engine, fed by every guarded call
(ivr.storage.gate) and a periodic probe (ivr.storage.guards); read by /health and /metrics.

An incident (the database stops answering) is logged once when it starts and once when it
ends, not per failed call. Call it from the event loop.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseStatus:
    up: bool
    failures: int  # failed calls since the engine started
    last_error: str | None
    last_error_age: float | None  # seconds since the last failure
    down_for: float | None  # seconds the current incident has lasted (None: up)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": "ok" if self.up else "unavailable",
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_age_seconds": _rounded(self.last_error_age),
            "down_for_seconds": _rounded(self.down_for),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class DatabaseState:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._down_since: float | None = None
        self._failures = 0
        self._incident_failures = 0
        self._last_error: str | None = None
        self._last_error_at: float | None = None

    @property
    def up(self) -> bool:
        return self._down_since is None

    def succeeded(self) -> None:
        if self._down_since is not None:
            log.warning(
                "database answers again after %.1f s (%d calls failed meanwhile)",
                self._clock() - self._down_since,
                self._incident_failures,
            )
            self._down_since = None

    def failed(self, what: str, error: str) -> None:
        now = self._clock()
        self._failures += 1
        self._last_error, self._last_error_at = f"{what}: {error}", now
        if self._down_since is None:
            self._down_since, self._incident_failures = now, 0
            log.error(
                "database unavailable (%s: %s): calls go on without it (unknown caller, no "
                "outage), API changes get 503 until it answers again",
                what,
                error,
            )
        self._incident_failures += 1

    def status(self) -> DatabaseStatus:
        now = self._clock()
        at, since = self._last_error_at, self._down_since
        return DatabaseStatus(
            up=since is None,
            failures=self._failures,
            last_error=self._last_error,
            last_error_age=None if at is None else now - at,
            down_for=None if since is None else now - since,
        )


def ping(engine: Engine) -> None:
    """Blocking: one round trip to the database."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))

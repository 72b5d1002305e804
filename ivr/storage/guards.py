"""The engine's guards on the database: one state, a gate for the call path, one for the API
and a probe that keeps the state current (see ivr.storage.gate and ivr.storage.health)."""

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from ivr.storage.dead_letters import brief
from ivr.storage.gate import DatabaseUnavailable, StorageGate
from ivr.storage.health import DatabaseState, ping

log = logging.getLogger(__name__)

CALL_WORKERS = 4  # threads for the call path's reads (identify, outage)
API_WORKERS = 4  # threads for the API's store calls


class DatabaseProbe:
    """Pings the database every `interval` seconds through `run` (a guarded call, which
    records the outcome in the state), so /health follows the database even when no call
    or API request touches it."""

    def __init__(
        self,
        run: Callable[[Callable[[], None]], Any],
        check: Callable[[], None],
        interval: float,
    ) -> None:
        self._run = run
        self._check = check
        self._interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self._run(self._check)
            except DatabaseUnavailable:  # recorded in the state by the guarded call
                pass
            except Exception as exc:
                log.warning("database probe failed: %s", brief(exc))
            await asyncio.sleep(self._interval)


class DatabaseGuards:
    def __init__(
        self, engine: Engine, call_timeout: float, api_timeout: float, probe_interval: float
    ) -> None:
        self.state = DatabaseState()
        self.calls = StorageGate("calls", CALL_WORKERS, call_timeout, self.state)
        self.api = StorageGate("api", API_WORKERS, api_timeout, self.state, call_timeout)
        self._probe_gate = StorageGate("probe", 1, call_timeout, self.state)
        self.probe = DatabaseProbe(
            self._probe_gate.run, functools.partial(ping, engine), probe_interval
        )

    def health(self) -> dict[str, Any]:
        """/health's "database" entry: ok or unavailable, failures, the last error's age."""
        return self.state.status().as_dict()

    def close(self) -> None:
        for gate in (self.calls, self.api, self._probe_gate):
            gate.close()

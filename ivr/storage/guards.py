"""The engine's guards on the database: one state, a gate for the call path, one for the API
and a probe that keeps the state current (see ivr.storage.gate and ivr.storage.health)."""

import functools
from typing import Any

from sqlalchemy import Engine

from ivr.storage.gate import StorageGate
from ivr.storage.health import DatabaseProbe, DatabaseState, ping

CALL_WORKERS = 4  # threads for the call path's reads (identify, outage)
API_WORKERS = 4  # threads for the API's store calls


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

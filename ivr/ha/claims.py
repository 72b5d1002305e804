"""The monitors' step claims kept in the database, shared by every engine (see
ivr.monitors.claims and ivr.storage.ownership)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from ivr.storage.ownership import ClaimStore

Run = Callable[..., Awaitable[Any]]


class SharedClaims:
    def __init__(
        self,
        store: ClaimStore,
        wall: Callable[[], datetime],
        timeout: float,
        run: Run = asyncio.to_thread,
    ) -> None:
        self._store = store
        self._wall = wall
        self._timeout = timeout  # a claim the database does not answer in time is not made
        self._run = run  # runs a blocking store call off the loop (a guarded thread pool)

    async def claim(self, call_id: str, step: str) -> bool:
        claimed = self._run(self._store.claim, call_id, step, self._wall())
        return bool(await asyncio.wait_for(claimed, self._timeout))

    async def release(self, call_id: str, step: str) -> None:
        await asyncio.wait_for(self._run(self._store.release, call_id, step), self._timeout)

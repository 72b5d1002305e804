"""The monitors' step claims kept in the database, shared by every engine (see
ivr.monitors.claims and ivr.storage.ownership)."""

import asyncio
from collections.abc import Callable
from datetime import datetime

from ivr.storage.ownership import ClaimStore


class SharedClaims:
    def __init__(self, store: ClaimStore, wall: Callable[[], datetime], timeout: float) -> None:
        self._store = store
        self._wall = wall
        self._timeout = timeout  # a claim the database does not answer in time is not made

    async def claim(self, call_id: str, step: str) -> bool:
        return await asyncio.wait_for(
            asyncio.to_thread(self._store.claim, call_id, step, self._wall()), self._timeout
        )

    async def release(self, call_id: str, step: str) -> None:
        await asyncio.wait_for(asyncio.to_thread(self._store.release, call_id, step), self._timeout)

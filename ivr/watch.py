"""Polling for file changes: the flows directory and queues.yaml are watched the same way."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Hashable

log = logging.getLogger(__name__)


class ChangeWatcher:
    """Yields whenever `stamp()` (mtimes and sizes, say) differs from the last one seen.
    `mark()` records the current stamp: call it when the files are (re)loaded, so a reload
    on demand is not repeated by the watcher."""

    def __init__(self, stamp: Callable[[], Hashable], interval: float, what: str) -> None:
        self._stamp = stamp
        self._interval = interval
        self._what = what
        self._seen: Hashable = None

    def mark(self) -> None:
        self._seen = self._read()

    def _read(self) -> Hashable:
        try:
            return self._stamp()
        except OSError as exc:
            log.error("cannot read %s: %s", self._what, exc)
            return None

    async def changes(self) -> AsyncIterator[None]:
        while True:
            await asyncio.sleep(self._interval)
            if await asyncio.to_thread(self._read) != self._seen:
                yield

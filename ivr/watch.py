"""Polling for file changes: the flows directory and queues.yaml are watched the same way."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from pathlib import Path

log = logging.getLogger(__name__)
Stamp = tuple[int, int, int, int]


def file_stamp(path: Path) -> Stamp:
    """What changes when a file is edited, replaced or swapped for a link, a pipe or a
    directory: the entry's type, then the type, mtime and size of what it leads to (the
    link's own, if dangling). Nothing is opened. FileNotFoundError when it is gone."""
    entry = path.lstat()
    try:
        target = path.stat()
    except OSError:
        target = entry
    return entry.st_mode, target.st_mode, target.st_mtime_ns, target.st_size


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

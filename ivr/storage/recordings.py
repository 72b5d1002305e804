"""Call recordings on disk: `<directory>/<call id>.wav`.

Asterisk writes them (app_queue starts MixMonitor when an agent answers a call of a queue
with `record: true`; the dialplan names the file after the caller's UNIQUEID, the
journal's call id). The engine finds them for the API and deletes those older than the
retention (queues.yaml `recordings`). A call id from a request is never a path: it must
look like an Asterisk unique id, and the file is looked up in the directory only.
"""

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ivr.queues.model import RecordingPolicy

log = logging.getLogger(__name__)

SUFFIX = ".wav"
# Asterisk unique ids (1733550000.42, or a ChannelId given to Originate): no '/', no leading '.'
CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
DAY = 86400.0


class Recordings:
    """The recordings directory as the engine sees it, under the policy in force."""

    def __init__(
        self,
        directory: Callable[[], Path],
        policy: Callable[[], RecordingPolicy],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory  # read per use: a queues.yaml reload may move it
        self._policy = policy
        self._wall = wall

    @property
    def directory(self) -> Path:
        return self._directory()

    def path_for(self, call_id: str) -> Path | None:
        """Where the call's recording would be; None for a call id that is not one."""
        if not CALL_ID.fullmatch(call_id):
            return None
        return self.directory / f"{call_id}{SUFFIX}"

    def find(self, call_id: str) -> Path | None:
        """The call's recording file, if there is one (blocking: stats the file)."""
        path = self.path_for(call_id)
        return path if path is not None and path.is_file() else None

    def recorded(self, call_ids: Iterable[str]) -> set[str]:
        """Those of `call_ids` that have a recording (blocking)."""
        return {call_id for call_id in call_ids if self.find(call_id) is not None}

    def sweep(self) -> int:
        """Delete recordings older than the retention (by mtime); the number deleted."""
        days = self._policy().retention_days
        if days <= 0:
            return 0
        cutoff = self._wall() - days * DAY
        deleted = 0
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return 0  # nothing recorded yet
        for path in entries:
            if not (path.suffix == SUFFIX and CALL_ID.fullmatch(path.stem)):
                continue  # not ours: left alone
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue  # deleted meanwhile
        return deleted

    async def run(self) -> None:
        """Sweep now, then every sweep_interval; failures are logged, the task goes on."""
        while True:
            try:
                deleted = await asyncio.to_thread(self.sweep)
            except OSError as exc:
                log.warning("recordings: retention sweep of %s failed: %s", self.directory, exc)
            else:
                days = self._policy().retention_days
                log.info(
                    "recordings: %d older than %g days deleted from %s",
                    deleted,
                    days,
                    self.directory,
                )
            await asyncio.sleep(self._policy().sweep_interval)

"""queues.yaml applied live: validated whole, rendered to queues.conf, then QueueReload.

A change is taken only if queues.yaml has no errors and the flows still validate against it
(a flow must not route to a queue that is gone); otherwise the problems are logged and the
running configuration stays. Queue membership is not in queues.conf: agents stay logged in.
"""

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.queues.model import QueuesConfig, load_queues, validate_queues
from ivr.queues.render import render_queues_conf
from ivr.watch import ChangeWatcher, Stamp, file_stamp
from ivr.yamlfiles.problems import Problem

log = logging.getLogger(__name__)

CheckFlows = Callable[[QueuesConfig], list[Problem]]
Apply = Callable[[QueuesConfig], Awaitable[None]]


@dataclass(frozen=True)
class QueuesReload:
    ok: bool
    problems: tuple[Problem, ...]


def write_queues_conf(config: QueuesConfig, directory: str | Path) -> Path:
    """Write queues.conf atomically (Asterisk never reads half a file)."""
    target = Path(directory) / "queues.conf"
    partial = target.with_suffix(".conf.partial")
    partial.write_text(render_queues_conf(config), encoding="utf-8")
    os.replace(partial, target)
    return target


class QueuesReloader:
    def __init__(self, path: str | Path, check_flows: CheckFlows, poll: float = 1.0) -> None:
        self.path = Path(path)
        self._watcher = ChangeWatcher(self._stamp, poll, str(self.path))
        self._watcher.mark()
        self.config = load_queues(self.path)  # at start a bad file stops the engine
        self._check_flows = check_flows
        self._lock = asyncio.Lock()
        self.applied: list[Apply] = []  # called with each new configuration

    def _stamp(self) -> Stamp:
        return file_stamp(self.path)

    async def reload(self) -> QueuesReload:
        async with self._lock:
            await asyncio.to_thread(self._watcher.mark)
            return await self._reload()

    async def _reload(self) -> QueuesReload:
        config, problems = await asyncio.to_thread(validate_queues, self.path)
        errors = [p for p in problems if not p.warning]
        if config is not None and not errors:
            errors = await asyncio.to_thread(self._check_flows, config)
            problems = [*problems, *errors]
        if config is None or errors:
            for problem in problems:
                log.error("queues rejected: %s", problem)
            log.error("%s rejected: the running queues stay", self.path)
            return QueuesReload(False, tuple(problems))
        self.config = config
        for apply in self.applied:
            await apply(config)
        log.info("queues.yaml applied: %s", ", ".join(config.queues))
        return QueuesReload(True, tuple(problems))

    async def watch(self) -> None:
        async for _ in self._watcher.changes():
            try:
                await self.reload()
            except Exception:  # an apply step failed: the next change is still watched
                log.exception("reloading %s failed; still watching it", self.path)

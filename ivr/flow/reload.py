"""Hot reload: the engine picks up changed flows atomically.

A changed flows/ directory is validated as a whole and its spoken prompts rendered before
the new library replaces the old one in a single assignment. A library with errors is
rejected, its errors logged, and the old one keeps serving. Calls hold the library they
started with, so a call in progress finishes on its flow.

Each accepted library's files (a snapshot) go to the `recorders` with who asked for it
(the flow history); `restore` puts an old snapshot back on disk and reloads it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.flow.loader import FlowError, Validation
from ivr.flow.model import FlowLibrary
from ivr.flow.prompts import Prompt, Text, placeholders
from ivr.flow.snapshot import Snapshot, read_snapshot, restore
from ivr.watch import ChangeWatcher, Stamp, file_stamp

log = logging.getLogger(__name__)
STARTUP = "startup"
FILE_CHANGE = "file change"


def speakable(library: FlowLibrary) -> set[tuple[str, str]]:
    """Every fixed text (no {placeholders}) callers can hear, with its language: what to
    render before the library serves calls."""
    catalog = library.prompts
    prompts: list[Prompt] = list(catalog.prompts.values())
    for flow in library.flows.values():
        for node in flow.nodes.values():
            prompts += [r for r in node.checked.prompts if isinstance(r, Prompt)]
    texts = set()
    for prompt in prompts:
        for language in catalog.languages:
            used, variant = prompt.pick(language, catalog.default_language)
            if isinstance(variant, Text) and not placeholders(variant.text):
                texts.add((variant.text, used))
    return texts


@dataclass(frozen=True)
class ReloadResult:
    ok: bool  # the new flows serve; otherwise the previous ones still do
    problems: list[str] = field(default_factory=list)
    rendered: int = 0


@dataclass(frozen=True)
class Accepted:
    """A library put into service: its files and who asked (startup, file change, the API's
    principal, a rollback)."""

    files: Snapshot
    who: str


Recorder = Callable[[Accepted], Awaitable[None]]


class FlowReloader:
    """Holds the current library; `reload()` on demand, `watch()` polls flows/."""

    def __init__(
        self,
        directory: str | Path,
        validate: Callable[[Path], Validation],
        render: Callable[[Iterable[tuple[str, str]]], int],
        poll_interval: float = 1.0,
    ) -> None:
        self.directory = Path(directory)
        self._validate = validate
        self._render = render
        self._lock = asyncio.Lock()
        self._watcher = ChangeWatcher(self.signature, poll_interval, str(self.directory))
        self._watcher.mark()
        self.recorders: list[Recorder] = []  # told of every accepted library
        # FlowError: the engine does not start
        self.library, problems, _, self.files = self._load()
        for problem in problems:
            log.warning("%s", problem)

    def _load(self) -> tuple[FlowLibrary, list[str], int, Snapshot]:
        """Validate flows/ and render its spoken prompts (blocking): the library, its
        warnings, how many prompts were rendered and the files read. FlowError, or the
        renderer's error, when it cannot serve."""
        files = read_snapshot(self.directory)  # an edit from now on is the next change
        validation = self._validate(self.directory)
        if validation.library is None:
            raise FlowError(validation.problems)
        rendered = self._render(speakable(validation.library))
        return validation.library, [str(p) for p in validation.problems], rendered, files

    def signature(self) -> tuple[tuple[str, Stamp], ...]:
        """Every .yaml/.csv entry in flows/ (links and pipes too, none opened) with its
        stamp: any edit changes it."""
        out = []
        for path in sorted(self.directory.iterdir()):
            if path.suffix in (".yaml", ".csv"):
                try:
                    out.append((path.name, file_stamp(path)))
                except FileNotFoundError:  # removed while listing
                    continue
        return tuple(out)

    async def reload(self, who: str = FILE_CHANGE) -> ReloadResult:
        async with self._lock:
            return await self._reload(who)

    async def restore(self, files: Snapshot, who: str) -> ReloadResult:
        """Put `files` in flows/ (validated first, nothing written if they do not load) and
        reload them; `who` is recorded with the new version."""
        async with self._lock:
            serving = self.files
            try:
                await asyncio.to_thread(restore, self.directory, files, self._validate)
            except FlowError as exc:
                return self._rejected([str(p) for p in exc.problems if not p.warning])
            except OSError as exc:  # a read-only flows/ (a ConfigMap mount), a full disk
                await self._put_back(serving)  # a swap cut short part of the way
                return self._rejected([f"{self.directory}: cannot write: {exc.strerror}"])
            result = await self._reload(who)
            if not result.ok:  # e.g. its prompts could not be spoken: not in service
                await self._put_back(serving)
            return result

    async def _put_back(self, serving: Snapshot) -> None:
        """flows/ gets the files serving now again, so disk and service agree after a
        rollback that did not go into service (no half-applied flows at the next start)."""
        library = self.library
        try:
            await asyncio.to_thread(
                restore, self.directory, serving, lambda _: Validation(library, [])
            )
        except Exception:
            log.exception("flows: %s could not be put back as it serves", self.directory)
        await asyncio.to_thread(self._watcher.mark)

    async def record_current(self, who: str = STARTUP) -> None:
        """Tell the recorders of the library serving now (the one loaded at startup)."""
        await self._record(Accepted(self.files, who))

    async def _reload(self, who: str) -> ReloadResult:
        await asyncio.to_thread(self._watcher.mark)
        try:
            library, problems, rendered, files = await asyncio.to_thread(self._load)
        except FlowError as exc:
            return self._rejected([str(p) for p in exc.problems])
        except Exception as exc:  # a prompt that cannot be spoken rejects the flows
            return self._rejected([f"{self.directory}: spoken prompts: {exc}"])
        self.library, self.files = library, files
        for problem in problems:
            log.warning("%s", problem)
        log.info(
            "flows reloaded from %s: %d flows, %d lines, %d prompts rendered",
            self.directory,
            len(library.flows),
            len(library.lines),
            rendered,
        )
        await self._record(Accepted(files, who))
        return ReloadResult(ok=True, problems=problems, rendered=rendered)

    async def _record(self, accepted: Accepted) -> None:
        """A recorder's failure (the database down) leaves the flows serving: logged. The
        next recorded version's diff still covers this change."""
        for record in self.recorders:
            try:
                await record(accepted)
            except Exception:
                log.exception("flows: the accepted version (%s) was not recorded", accepted.who)

    def _rejected(self, problems: list[str]) -> ReloadResult:
        for problem in problems:
            log.error("flows rejected: %s", problem)
        log.error("flows in %s rejected: the previous flows keep serving", self.directory)
        return ReloadResult(ok=False, problems=problems)

    async def watch(self) -> None:
        """Reload whenever a file in flows/ changes (checked every poll interval)."""
        async for _ in self._watcher.changes():
            try:
                await self.reload()
            except Exception:  # an apply step failed: the next change is still watched
                log.exception("reloading %s failed; still watching it", self.directory)

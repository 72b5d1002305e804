"""A flows/ directory as content: what the flow history keeps of each accepted version, the
diff between two versions, and putting an old version back on disk.

A snapshot maps each .yaml/.csv file name to its text. Putting one back stages the files
in a hidden directory inside flows/ (same file system, ignored by the loader and the
watcher), validates them there, and only then replaces the files one by one; the reloader
holds its lock meanwhile, so the engine never loads a half-restored directory.
"""

import dataclasses
import difflib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ivr.files import sync_dir
from ivr.flow.loader import FlowError, Validation
from ivr.yamlfiles.problems import Problem

Snapshot = Mapping[str, str]  # file name -> text
FLOW_SUFFIXES = (".yaml", ".csv")
STAGING_PREFIX = ".restore-"


def is_flow_file(name: str) -> bool:
    return name.endswith(FLOW_SUFFIXES) and not name.startswith(".") and "/" not in name


def read_snapshot(directory: Path) -> dict[str, str]:
    """Every regular .yaml/.csv file in `directory` (links followed) with its text; other
    entries (pipes, directories) are the loader's to refuse. Undecodable bytes are kept as
    U+FFFD: the loader rejects such a file anyway."""
    files = {}
    for path in sorted(directory.iterdir()):
        if not is_flow_file(path.name):
            continue
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                continue
            files[path.name] = path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:  # removed while listing
            continue
    return files


def digest(files: Snapshot) -> str:
    """The content's SHA-256: equal content, equal digest (file order does not matter)."""
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def changed_files(old: Snapshot, new: Snapshot) -> list[str]:
    """The files added, removed or edited from `old` to `new`, sorted."""
    return sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))


def unified_diff(old: Snapshot, new: Snapshot) -> str:
    """`diff -u` of every changed file (a/NAME -> b/NAME; /dev/null for added or removed)."""
    parts: list[str] = []
    for name in changed_files(old, new):
        before, after = old.get(name), new.get(name)
        parts += difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"a/{name}" if before is not None else "/dev/null",
            tofile=f"b/{name}" if after is not None else "/dev/null",
        )
        if parts and not parts[-1].endswith("\n"):
            parts[-1] += "\n\\ No newline at end of file\n"
    return "".join(parts)


def restore(directory: Path, files: Snapshot, validate: Callable[[Path], Validation]) -> None:
    """Make `directory` hold exactly `files` (other .yaml/.csv files removed), once they
    validate as a whole: FlowError (nothing changed on disk) when they do not."""
    bad = [name for name in files if not is_flow_file(name)]
    if bad:
        raise ValueError(f"not a flows/ file name: {', '.join(sorted(bad))}")
    staged = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory))
    try:
        for name, text in files.items():
            (staged / name).write_text(text, encoding="utf-8")
        validation = validate(staged)
        if validation.library is None:  # told against the version's own file names
            raise FlowError([_unstaged(p, staged) for p in validation.problems])
        for name in files:
            os.replace(staged / name, directory / name)  # each file swapped whole
        for path in directory.iterdir():
            if is_flow_file(path.name) and path.name not in files:
                path.unlink()
        sync_dir(directory)  # the renames on disk before the reload
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _unstaged(problem: Problem, staged: Path) -> Problem:
    name = Path(problem.file).name if Path(problem.file).parent == staged else problem.file
    return dataclasses.replace(problem, file=name)

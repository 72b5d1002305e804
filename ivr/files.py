"""Reading the files supervisors edit (flows/, queues.yaml) without trusting them.

A configuration file must be a regular file, at most `limit` bytes, and a link only to a
file in the same directory. Nothing here blocks: a FIFO, a device or a directory is refused
from its `stat()` before it is opened, and opened with O_NONBLOCK (a file swapped for a FIFO
in between is refused after opening, never waited on).
"""

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class UnsafeFile(ValueError):
    """The file is not one to read: the message says why, for the supervisor."""


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _inside(path: Path, directory: Path) -> bool:
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def _check(info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"refused: {kind_of(info.st_mode)}, not a regular file")
    if info.st_size > limit:
        raise UnsafeFile(f"refused: {info.st_size} bytes (at most {limit})")


def read_limited(path: Path, limit: int, within: Path | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; with `within`, a link must
    stay in that directory. UnsafeFile says why not; OSError when it cannot be read."""
    if within is not None and path.is_symlink() and not _inside(path, within):
        raise UnsafeFile(f"refused: a link to a file outside {within}")
    _check(os.stat(path), limit)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        _check(os.fstat(fd), limit)  # the file opened, not the one looked at before
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise UnsafeFile(f"refused: more than {limit} bytes")
    return b"".join(chunks)


def sync_dir(directory: Path) -> None:
    """fsync a directory, so a new or renamed file's name survives a crash or power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The storage outbox: a writer's events on local disk until the database holds them.

One directory per writer (journal, reports, agent_log) under the outbox directory:
- `id`: the spool's identity (random, made once); the database keeps the last event it
  applied per spool id (ivr.storage.marks), so a new spool never matches an old mark;
- `delivered`: the last sequence number known written (a fast path: the database's mark,
  read before the first write, is the authority);
- `<first seq>.jsonl`: append-only segments, one line per event:
  {"seq": n, "at": unix time, "event": {...}} (ivr.events.codec).
`append` writes the line with one write(2) before it returns: once the call that
published the event goes on, the line is in the kernel and survives kill -9 of the engine.
`sync` (every `fsync_interval` seconds from `keep_synced`, or after each line when it is 0)
makes it survive a power loss too. A segment is deleted once all its events are delivered.
`open` replays what is not delivered. Bounded: when the segments reach `max_bytes`, new
events are dropped (never blocking the caller), counted and logged.
"""

import asyncio
import json
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.events.codec import EventDecodeError, decode, dumps
from ivr.events.model import Event
from ivr.files import sync_dir

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".jsonl"
MIN_SEGMENT_BYTES = 64 * 1024


@dataclass(frozen=True)
class SpoolStats:
    """What /health and /metrics show of an outbox: events on disk not yet in the
    database, the age of the oldest, the bytes its segments take, and the events dropped
    because it was full (since the engine started)."""

    rows: int
    oldest_age: float | None
    bytes: int
    dropped: int


@dataclass
class _Segment:
    path: Path
    first: int
    last: int  # 0: empty
    size: int


class Spool:
    """Blocking file I/O, used from the event loop's thread (appends are a few µs; `sync`
    runs in a worker thread)."""

    def __init__(
        self,
        directory: Path,
        name: str,
        max_bytes: int,
        fsync_interval: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"outbox {name}: max_bytes must be above 0, got {max_bytes}")
        self.name = name
        self.directory = directory / name
        self.max_bytes = max_bytes
        self.segment_bytes = max(MIN_SEGMENT_BYTES, max_bytes // 8)
        self.fsync_interval = fsync_interval
        self._clock = clock
        self.spool_id = ""
        self._segments: list[_Segment] = []
        self._fd: int | None = None
        self._next = 1
        self.opened_last = 0  # the last seq an earlier process used (see `catch_up`)
        self._delivered = 0
        self._pending: deque[tuple[int, float]] = deque()  # (seq, at) not delivered
        self._dropped = 0
        self._dirty = False

    # --- start ---------------------------------------------------------------------------

    def open(self) -> list[tuple[int, Event]]:
        """Create or reopen the spool; returns the events not delivered yet, in order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        id_file = self.directory / "id"
        if not id_file.exists():
            _write_atomic(id_file, secrets.token_hex(8))
        self.spool_id = f"{self.name}:{id_file.read_text(encoding='ascii').strip()}"
        self._delivered = self._read_delivered()
        replay: list[tuple[int, Event]] = []
        last = self._delivered
        for path in sorted(self.directory.glob("*" + SEGMENT_SUFFIX)):
            segment = _Segment(path, int(path.stem), 0, path.stat().st_size)
            for seq, at, event in self._read_segment(path):
                segment.last = max(segment.last, seq)
                last = max(last, seq)
                if seq > self._delivered:
                    replay.append((seq, event))
                    self._pending.append((seq, at))
            self._segments.append(segment)
        self._next = last + 1
        self.opened_last = last
        self._drop_delivered_segments()
        if replay:
            log.warning(
                "outbox %s: replaying %d events not yet in the database", self.name, len(replay)
            )
        return replay

    def _read_delivered(self) -> int:
        try:
            return int((self.directory / "delivered").read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            log.error("outbox %s: unreadable 'delivered' file: replaying everything", self.name)
            return 0

    def _read_segment(self, path: Path) -> list[tuple[int, float, Event]]:
        out = []
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                try:
                    data = json.loads(raw)
                    out.append((int(data["seq"]), float(data["at"]), decode(data["event"])))
                except (ValueError, KeyError, TypeError, EventDecodeError) as exc:
                    # a line torn by a power loss (the last one), or written by a newer version
                    log.error(
                        "outbox %s: %s line %d unreadable, skipped: %s",
                        self.name,
                        path.name,
                        number,
                        exc,
                    )
        return out

    # --- writing -------------------------------------------------------------------------

    def append(self, event: Event) -> int | None:
        """Write `event` to disk; its sequence number, or None when the spool is full (the
        event is dropped and counted). Raises OSError when the disk refuses it."""
        at = self._clock()
        seq = self._next
        line = f'{{"seq":{seq},"at":{at:.6f},"event":{dumps(event)}}}\n'.encode("ascii")
        if self.bytes + len(line) > self.max_bytes and not self._reclaim():
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.error(
                    "outbox %s: full (%d bytes, %d events waiting for the database): "
                    "%d events dropped so far",
                    self.name,
                    self.bytes,
                    len(self._pending),
                    self._dropped,
                )
            return None
        segment = self._current(len(line))
        assert self._fd is not None
        written = os.write(self._fd, line)
        if written != len(line):  # a regular file takes it whole unless the disk is full
            raise OSError(f"outbox {self.name}: short write ({written} of {len(line)} bytes)")
        segment.size += written
        segment.last = seq
        self._next = seq + 1
        self._pending.append((seq, at))
        self._dirty = True
        if self.fsync_interval <= 0:
            self.sync()
        return seq

    def _reclaim(self) -> bool:
        """Close and delete the open segment if all its events are delivered (it is kept
        open otherwise, to spare a new file per batch); whether it was."""
        if self._fd is None or not self._segments or self._segments[-1].last > self._delivered:
            return False
        self._close_fd()
        self._drop_delivered_segments()
        return True

    def _current(self, size: int) -> _Segment:
        """The open segment, a new one when there is none or it would grow past its size."""
        segment = self._segments[-1] if self._segments and self._fd is not None else None
        if segment is None or segment.size + size > self.segment_bytes:
            self._close_fd()
            path = self.directory / f"{self._next:012d}{SEGMENT_SUFFIX}"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            segment = _Segment(path, self._next, 0, 0)
            self._segments.append(segment)
            sync_dir(self.directory)
        return segment

    def sync(self) -> None:
        """fsync the open segment (blocking)."""
        if self._fd is not None and self._dirty:
            self._dirty = False
            os.fsync(self._fd)

    async def keep_synced(self) -> None:
        """fsync every `fsync_interval` seconds while events arrive (a background task)."""
        if self.fsync_interval <= 0:
            return
        while True:
            await asyncio.sleep(self.fsync_interval)
            if self._dirty:
                try:
                    await asyncio.to_thread(self.sync)
                except OSError as exc:
                    log.error("outbox %s: fsync failed: %s", self.name, exc)

    # --- delivery ------------------------------------------------------------------------

    def catch_up(self, applied: int) -> None:
        """The database applied up to `applied`: number new events after it. (Only when
        local files were lost, e.g. a power loss between the database's commit and the
        segment's fsync; events appended since open are never taken as applied.)"""
        if applied >= self._next:
            log.warning(
                "outbox %s: the database holds events up to %d, this outbox only up to %d:"
                " numbering on from %d",
                self.name,
                applied,
                self._next - 1,
                applied + 1,
            )
            self._next = applied + 1

    def delivered(self, seq: int) -> None:
        """Every event up to `seq` is in the database (or set aside as a dead letter)."""
        if seq <= self._delivered:
            return
        self._delivered = seq
        while self._pending and self._pending[0][0] <= seq:
            self._pending.popleft()
        _write_atomic(self.directory / "delivered", str(seq))
        self._drop_delivered_segments()

    def _drop_delivered_segments(self) -> None:
        """Delete the segments whose events are all delivered (the open one stays). The
        `delivered` file is made durable first: it must never say less than a deleted
        segment held, or numbering could go back after a power loss."""
        keep, gone = [], []
        for n, segment in enumerate(self._segments):
            is_open = self._fd is not None and n == len(self._segments) - 1
            if not is_open and segment.last <= self._delivered:
                gone.append(segment)
            else:
                keep.append(segment)
        if gone:
            _write_atomic(self.directory / "delivered", str(self._delivered), durable=True)
            for segment in gone:
                segment.path.unlink(missing_ok=True)
        self._segments = keep

    @property
    def bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def stats(self) -> SpoolStats:
        oldest = self._pending[0][1] if self._pending else None
        return SpoolStats(
            rows=len(self._pending),
            oldest_age=max(0.0, self._clock() - oldest) if oldest is not None else None,
            bytes=self.bytes,
            dropped=self._dropped,
        )

    def close(self) -> None:
        self.sync()
        self._close_fd()
        self._drop_delivered_segments()

    def _close_fd(self) -> None:
        if self._fd is not None:
            if self._dirty:
                self._dirty = False
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


def _write_atomic(path: Path, text: str, durable: bool = False) -> None:
    """Replace `path` whole (write a temporary file, rename): never half written; with
    `durable`, fsync'd (the file and its directory) before returning."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="ascii") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(temporary, path)
    if durable:
        sync_dir(path.parent)

"""Recordings on disk: a call id is never a path, and the retention sweep deletes exactly
the recordings older than retention_days (by file time, against a fake clock)."""

import asyncio
import logging
import os
from pathlib import Path

import pytest

from ivr.queues.model import RecordingPolicy
from ivr.storage.recordings import DAY, Recordings

NOW = 1_800_000_000.0  # the fake wall clock


def store(directory: Path, days: float = 90, interval: float = 3600) -> Recordings:
    policy = RecordingPolicy(str(directory), days, interval)
    return Recordings(lambda: directory, lambda: policy, wall=lambda: NOW)


def file_aged(directory: Path, name: str, age_days: float) -> Path:
    path = directory / name
    path.write_bytes(b"RIFF")
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    return path


def test_a_call_id_is_a_file_name_in_the_directory_never_a_path(tmp_path: Path) -> None:
    recordings = store(tmp_path)
    assert recordings.path_for("1733550000.42") == tmp_path / "1733550000.42.wav"
    for hostile in ("../etc/passwd", "..", ".hidden", "a/b", "", "a\x00b", "x" * 200, "%2e%2e"):
        assert recordings.path_for(hostile) is None, hostile
    (tmp_path / "1733550000.42.wav").write_bytes(b"RIFF")
    (tmp_path / "1733550000.43.wav").mkdir()  # not a file
    assert recordings.find("1733550000.42") == tmp_path / "1733550000.42.wav"
    assert recordings.find("1733550000.43") is None
    assert recordings.recorded(["1733550000.42", "1733550000.43", "1"]) == {"1733550000.42"}


def test_the_sweep_deletes_what_is_older_than_the_retention_only(tmp_path: Path) -> None:
    old = [file_aged(tmp_path, f"17000000{n}.1.wav", age) for n, age in enumerate((91, 400))]
    young = [file_aged(tmp_path, f"17100000{n}.1.wav", a) for n, a in enumerate((0, 89.9))]
    foreign = file_aged(tmp_path, "notes.txt", 1000)  # not a recording: left alone
    assert store(tmp_path, days=90).sweep() == 2
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in young) and foreign.exists()
    assert store(tmp_path, days=90).sweep() == 0  # nothing left to delete


def test_retention_zero_keeps_everything_and_a_missing_directory_is_empty(tmp_path: Path) -> None:
    kept = file_aged(tmp_path, "1600000000.1.wav", 10_000)
    assert store(tmp_path, days=0).sweep() == 0 and kept.exists()
    assert store(tmp_path / "not-yet").sweep() == 0


async def test_the_engine_task_sweeps_at_once_and_then_every_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file_aged(tmp_path, "1600000000.1.wav", 2)
    recordings = store(tmp_path, days=1, interval=0.05)
    caplog.set_level(logging.INFO, logger="ivr.storage.recordings")
    task = asyncio.create_task(recordings.run())
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len([r for r in caplog.records if "deleted" in r.getMessage()]) >= 2:
                break
    finally:
        task.cancel()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == f"recordings: 1 older than 1 days deleted from {tmp_path}"
    assert messages[1] == f"recordings: 0 older than 1 days deleted from {tmp_path}"
    assert not os.listdir(tmp_path)

"""`ivr report prediction`: predicted against real wait per queue, text and CSV, on a small
hand-counted SQLite store (the window and time zone as the other reports)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.events.model import CallAbandoned, CallAnswered, CallQueued, CallStarted, WaitPredicted
from ivr.storage.db import open_store
from ivr.storage.journal import JournalEvent, write_events

DAY = ["--since", "2026-11-24", "--until", "2026-11-25"]
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def call(
    call_id: str, queue: str, predicted: float | None, wait: float, answered: bool = True
) -> list[JournalEvent]:
    queued = T0 + timedelta(seconds=5)
    done = queued + timedelta(seconds=wait)
    end: JournalEvent = (
        CallAnswered(call_id, queue, "1001", "PJSIP/1001-1", wait, wait <= 20, at=done)
        if answered
        else CallAbandoned(call_id, queue, wait, at=done)
    )
    return [
        CallStarted(call_id, "5551000", "+380441234567", "PJSIP/trunk-1", at=T0),
        CallQueued(call_id, queue, 1, at=queued),
        WaitPredicted(call_id, queue, 1, 0, 1, 60.0, predicted, 20.0, at=queued),
        end,
    ]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    for name in ("IVR_CONFIG", "IVR_FLOWS_DIR", "IVR_QUEUES_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_DATABASE_URL", url)
    with open_store(url) as sessions:
        write_events(
            sessions,
            [
                *call("i1", "internet", 60.0, 50.0),  # 10 s early
                *call("i2", "internet", 20.0, 80.0),  # 60 s late
                *call("i3", "internet", None, 30.0),  # nobody on duty: not counted
                *call("t1", "tv", 10.0, 15.0, answered=False),  # abandoned, 5 s late
            ],
        )


def test_prediction_text(store: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "prediction", *DAY]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert lines[0] == "Predicted against real wait by queue, 2026-11-24 (Europe/Kyiv)"
    header = "Queue Calls Mean abs error Bias (s) Within Share within"
    assert lines[2].split() == header.split()
    assert lines[4].split() == ["internet", "2", "0:35", "25.0", "1", "50.0", "%"]
    assert lines[5].split() == ["tv", "1", "0:05", "5.0", "1", "100.0", "%"]
    assert lines[7].split() == ["all", "3", "0:25", "18.3", "2", "66.7", "%"]
    assert "within ±30 s" in out


def test_prediction_csv_with_another_tolerance(
    store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "prediction", *DAY, "--within", "5", "--csv"]) == 0
    out, _ = capsys.readouterr()
    assert out == (
        "queue,calls,mean_absolute_error_seconds,bias_seconds,within,share_within\n"
        "internet,2,35.0,25.0,0,0.0\n"
        "tv,1,5.0,5.0,1,1.0\n"
        "all,3,25.0,18.3,1,0.3333\n"
    )


@pytest.mark.parametrize("within", ["0", "-3", "soon", "inf"])
def test_a_bad_tolerance_is_a_clear_error(
    store: None, capsys: pytest.CaptureFixture[str], within: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["report", "prediction", *DAY, "--within", within])
    assert exited.value.code == 2
    assert f"--within: expected seconds > 0, got {within!r}" in capsys.readouterr().err

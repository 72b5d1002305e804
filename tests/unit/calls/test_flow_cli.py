"""`ivr flow history | show | replay` on a real SQLite store (no Asterisk, no engine)."""

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.cli.flow_history import moment
from ivr.config import PROJECT_ROOT
from ivr.events.model import CallFinishedInMenu, CallRouted, CallStarted
from ivr.flow.snapshot import read_snapshot
from ivr.storage.db import open_store
from ivr.storage.flow_history import FlowHistory
from ivr.storage.journal import write_events


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    monkeypatch.setenv("IVR_DATABASE_URL", url)
    return url


def test_history_and_show(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "history"]) == 0
    assert capsys.readouterr().out.startswith("no flow versions recorded yet")
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    files = read_snapshot(PROJECT_ROOT / "flows")
    edited = {**files, "support.yaml": files["support.yaml"].replace('"2": tv', '"2": extra')}
    with open_store(store) as sessions:
        FlowHistory(sessions).record(files, "startup", at)
        FlowHistory(sessions).record(edited, "api admin sha256:0123abcd", at + timedelta(minutes=1))

    assert main(["flow", "history"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "    2  2026-12-07 09:01:00Z  api admin sha256:0123abcd: support.yaml"
    assert out[1].startswith("    1  2026-12-07 09:00:00Z  startup: calendar.yaml, closed.yaml")

    assert main(["flow", "show", "2"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("version 2  2026-12-07 09:01:00Z  api admin sha256:0123abcd\n")
    assert '-      "2": tv\n+      "2": extra\n' in shown

    assert main(["flow", "show", "7"]) == 2
    assert capsys.readouterr().err == "ivr flow show: no flow version 7 (see `ivr flow history`)\n"


def test_replay_lists_the_journalled_call_the_edit_moves(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    at = now - timedelta(minutes=30)
    with open_store(store) as sessions:
        FlowHistory(sessions).record(read_snapshot(PROJECT_ROOT / "flows"), "startup", at)
        write_events(
            sessions,
            [
                CallStarted("c1", "5552000", "0991112233", "Local/x", at=at),
                CallRouted(
                    "c1",
                    "5552000",
                    "0991112233",
                    "connections",
                    "new_connection",
                    10,
                    ("welcome:1",),
                    at=at,
                    keys=("1",),
                ),
                CallStarted("c2", "5551000", "0991112233", "Local/y", at=at),
                CallFinishedInMenu("c2", "5551000", "0991112233", ("x",), at=at, keys=None),
            ],
        )
    edited = Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "edited"))
    connections = edited / "connections.yaml"
    text = connections.read_text(encoding="utf-8")
    connections.write_text(text.replace("queue: connections", "queue: first_line"))

    assert main(["flow", "replay", "--since", "1h", "--json", str(edited)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["baseline"], report["replayed"], report["without_keys"]) == (
        "flow version 1",
        1,
        1,  # c2: journalled without its keys
    )
    [moved] = report["differences"]
    assert moved["call_id"] == "c1" and moved["keys"] == "1"
    assert moved["changes"] == [{"kind": "queue", "change": "queue connections -> first_line"}]

    # the edited flows as the baseline: compared with themselves, nothing moves
    with open_store(store) as sessions:
        FlowHistory(sessions).record(read_snapshot(edited), "file change", now)
    assert main(["flow", "replay", "--since", "1h", "--baseline", "2", "--json", str(edited)]) == 0
    assert json.loads(capsys.readouterr().out)["different"] == 0
    assert main(["flow", "replay", "--baseline", "9", str(edited)]) == 2
    assert "no flow version 9" in capsys.readouterr().err

    assert main(["flow", "replay", "--since", "1h", str(PROJECT_ROOT / "flows")]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "1 of 1 calls would route differently (queue 1)",  # back: the newest is the edit
        "1 calls in the window were journalled without their keys (before the journal kept "
        "them): not replayed",
    ]


def test_replay_windows_are_read_clearly() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert moment("2h", "--since", UTC, now) == now - timedelta(hours=2)
    assert moment("90m", "--since", UTC, now) == now - timedelta(minutes=90)
    assert moment("2026-12-07T10:00Z", "--since", UTC, now) == now - timedelta(hours=2)
    assert main(["flow", "replay", "--since", "yesterday-ish"]) == 2


def test_rollback_without_a_running_engine_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IVR_HTTP_BIND", "127.0.0.1:9")  # discard: nobody listens
    assert main(["flow", "rollback", "3", "--token", "x" * 32]) == 2
    assert capsys.readouterr().err.startswith(
        "ivr flow rollback: the engine is not reachable at http://127.0.0.1:9/api/flows/rollback"
    )

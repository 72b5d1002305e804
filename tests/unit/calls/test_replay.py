"""`ivr flow replay`'s core: journalled calls run through the live and the edited flows,
the calls that would route differently listed with how (no Asterisk, no database)."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

from ivr.calls.replay import replay
from ivr.config import PROJECT_ROOT
from ivr.flow.loader import load_library
from ivr.flow.model import FlowLibrary
from ivr.queues.model import load_queues
from ivr.storage.repository import MenuCall
from tests.unit.fakes import NobodyKnown

QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")
OPEN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday 12:00 in Kyiv
CLOSED = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # Tuesday 23:00 in Kyiv


def library(directory: Path) -> FlowLibrary:
    return load_library(directory, queues=QUEUES.queues, classes=QUEUES.caller_classes)


def edited(tmp_path: Path, file: str, old: str, new: str) -> FlowLibrary:
    flows = Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "edited"))
    text = (flows / file).read_text(encoding="utf-8")
    assert old in text
    (flows / file).write_text(text.replace(old, new), encoding="utf-8")
    return library(flows)


def call(call_id: str, keys: str, at: datetime = OPEN) -> MenuCall:
    return MenuCall(call_id, "5551000", "0991112233", at, tuple(keys.split()))


LIVE = library(PROJECT_ROOT / "flows")


async def test_a_queue_change_is_listed_with_the_calls_it_moves(tmp_path: Path) -> None:
    # A stranger: 2 = support, the contract asked twice (timeouts), then the service menu.
    calls = [call("tv", "2 - - 2"), call("internet", "2 - - 1"), call("tv-again", "7 2 - - 2")]
    extra = edited(tmp_path, "support.yaml", '"2": tv', '"2": extra')

    report = await replay(calls, LIVE, extra, QUEUES, NobodyKnown())

    assert report.replayed == 3
    assert [d.call.call_id for d in report.differences] == ["tv", "tv-again"]
    assert report.differences[0].changes == (("queue", "queue tv -> extra"),)
    assert report.counts() == {"queue": 2}
    text = report.text()
    assert "call tv line 5551000 caller 0991112233 keys '2 - - 2': queue tv -> extra" in text
    assert text.endswith("2 of 3 calls would route differently (queue 2)")


async def test_class_and_self_service_changes_are_told_apart(tmp_path: Path) -> None:
    calls = [call("new", "1"), call("meter", "3"), call("tv", "2 - - 2")]
    changed = edited(
        tmp_path,
        "main.yaml",
        '"1": new_connection\n      "2": support\n      "3": meter',
        '"1": support\n      "2": support\n      "3": new_connection',
    )

    report = await replay(calls, LIVE, changed, QUEUES, NobodyKnown())

    by_call = {d.call.call_id: d.changes for d in report.differences}
    assert set(by_call) == {"new", "meter"}  # "2 - - 2" still reaches tv
    # 1 now enters support: asked for a contract (silence), then the service menu times out
    assert by_call["new"] == (
        ("queue", "queue connections -> internet"),
        ("class", "class new_connection -> existing_service"),
    )
    assert by_call["meter"] == (("outcome", "self-service -> connections (class new_connection)"),)
    assert report.as_dict()["by_change"] == {"queue": 1, "class": 1, "outcome": 1}


async def test_each_call_runs_at_its_own_time(tmp_path: Path) -> None:
    """Operators round the clock: the night call now reaches a queue, the day call with
    the same keys routes as before."""
    day, night = call("day", "1", at=OPEN), call("night", "1", at=CLOSED)
    always = edited(
        tmp_path,
        "calendar.yaml",
        'operators: {mon-sat: "08:00-22:00"}',
        'operators: {daily: "00:00-24:00"}',
    )
    report = await replay([day, night], LIVE, always, QUEUES, NobodyKnown())
    [moved] = report.differences
    assert moved.call.call_id == "night" and moved.before.outcome == "self_service"
    assert moved.changes == (("outcome", "self-service -> connections (class new_connection)"),)


async def test_calls_without_keys_are_counted_not_replayed() -> None:
    report = await replay([], LIVE, LIVE, QUEUES, NobodyKnown(), without_keys=4)
    assert report.as_dict() == {
        "replayed": 0,
        "different": 0,
        "by_change": {},
        "without_keys": 4,
        "differences": [],
    }
    assert "4 calls in the window were journalled without their keys" in report.text()

"""The live floor as JSON and back: loop times travel as durations and are rebuilt on the
reader's own loop clock, everything else comes back equal."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ivr.monitors.agents import AgentSnapshot
from ivr.monitors.live_json import LiveJsonError, floor_from_json, floor_json
from ivr.monitors.talk import TalkingCall
from ivr.monitors.waiting import WaitingCaller
from ivr.queues.model import EscalationStep
from ivr.routing.escalation import TARGET, Mark

WRITER_NOW = 1000.0  # the owner's loop time when it wrote the row
MARKS = (
    Mark(20.0, TARGET),
    Mark(20.0, 0, EscalationStep(20.0, "raise_priority", raise_by=3)),
    Mark(40.0, 1, EscalationStep(40.0, "overflow", queue="senior")),
)
CALLER = WaitingCaller(
    call_id="1733570000.12",
    queue="internet",
    line="5552000",
    caller_class="existing_service",
    priority=8,
    joined=WRITER_NOW - 25.0,  # waited 25 s
    joined_at=datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
    marks=MARKS,
    done=frozenset({TARGET, 0}),
    in_queue=True,
)
TALK = TalkingCall("1733569000.3", "internet", "1001", started=WRITER_NOW - 60.0)
AGENT = AgentSnapshot(
    "1001",
    "Олена",
    "PJSIP/1001",
    "paused",
    True,
    "обід",
    frozenset({"internet", "tv"}),
    datetime(2026, 12, 7, 11, 30, tzinfo=UTC),
)


def through_json(written: float) -> tuple[WaitingCaller, TalkingCall, AgentSnapshot]:
    payload = json.loads(json.dumps(floor_json(WRITER_NOW, [CALLER], [TALK], [AGENT])))
    floor = floor_from_json(payload, written)
    [caller], [talk], [agent] = floor.waiting, floor.talking, floor.agents
    return caller, talk, agent


def test_loop_times_are_rebuilt_on_the_reader_s_clock() -> None:
    """The reader's loop clock is unrelated to the writer's: at its time 50 it reads a row
    written 0.4 s ago (at its time 49.6); the caller has waited 25.4 s then."""
    caller, talk, _ = through_json(written=50.0 - 0.4)
    assert caller.joined == pytest.approx(50.0 - 0.4 - 25.0)
    assert 50.0 - caller.joined == pytest.approx(25.4)
    assert 50.0 - talk.started == pytest.approx(60.4)


def test_everything_else_comes_back_equal() -> None:
    caller, talk, agent = through_json(written=WRITER_NOW)  # the same clock: all equal
    assert caller.joined == pytest.approx(CALLER.joined)
    assert caller == replace(CALLER, joined=caller.joined)
    assert talk == TALK
    assert agent == AGENT


def test_another_format_or_a_broken_payload_is_refused() -> None:
    payload = floor_json(WRITER_NOW, [CALLER], [TALK], [AGENT])
    with pytest.raises(LiveJsonError, match="format 2, not 1"):
        floor_from_json({**payload, "format": 2}, 0.0)
    broken = {**payload, "waiting": [{"call_id": "x"}]}
    with pytest.raises(LiveJsonError, match="not readable: KeyError"):
        floor_from_json(broken, 0.0)


def test_callers_on_one_ladder_share_it_in_the_payload() -> None:
    """A mass outage puts thousands of callers on a few ladders: each is written once."""
    other = replace(CALLER, call_id="1733570000.13", marks=MARKS[:1])
    callers = [CALLER, replace(CALLER, call_id="1733570000.14"), other]
    payload = floor_json(WRITER_NOW, callers, [], [])
    assert [c["ladder"] for c in payload["waiting"]] == [0, 0, 1]
    assert len(payload["ladders"]) == 2
    floor = floor_from_json(json.loads(json.dumps(payload)), WRITER_NOW)
    assert [c.marks for c in floor.waiting] == [MARKS, MARKS, MARKS[:1]]

"""The queue monitors' events in the call journal, on both backends: answer, abandonment,
escalations, talk limits; merged the same in Python and in SQL whatever the batching."""

import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallEscalated,
    CallQueued,
    CallRouted,
    CallStarted,
    TalkLimitReached,
    WaitPredicted,
)
from ivr.storage.journal import (
    JournalEvent,
    append_steps,
    merge_events,
    upsert_rounds,
    write_events,
)
from ivr.storage.repository import CallRecordView, JournalRepository

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LINE = "5551000"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def answered_call(call_id: str) -> list[JournalEvent]:
    """Menu, queue, target missed, two escalations (one an overflow to another queue),
    answered there, a talk warning and the guideline, completed, hung up."""
    return [
        CallStarted(call_id, LINE, "+380441234567", "PJSIP/trunk-0001", at=T0),
        CallRouted(call_id, LINE, "+380441234567", "internet", "existing", 5, ("main:1",), at(8)),
        CallQueued(call_id, "internet", 1, at=at(10)),
        WaitPredicted(call_id, "internet", 3, 0, 2, 40.0, 60.0, 20.0, at=at(10)),
        AnswerTargetMissed(call_id, "internet", LINE, 30.0, at=at(40)),
        CallEscalated(call_id, "internet", "raise_priority", "priority 5 -> 8", 30.0, at(40)),
        CallEscalated(call_id, "internet", "overflow", "to senior", 60.0, at=at(70)),
        CallQueued(call_id, "senior", 1, at=at(70)),
        CallAnswered(call_id, "senior", "agent-7", "PJSIP/agent-7-0001", 75.5, False, at(85.5)),
        TalkLimitReached(call_id, "senior", "agent-7", "PJSIP/agent-7-0001", "warning", 240.0),
        TalkLimitReached(call_id, "senior", "agent-7", "PJSIP/agent-7-0001", "guideline", 300.0),
        CallCompleted(call_id, "senior", "agent-7", 320.25, "agent", at=at(405.75)),
        CallEnded(call_id, "Normal Clearing", at=at(406)),
    ]


EXPECTED = {
    "line": LINE,
    "caller": "+380441234567",
    "channel": "PJSIP/trunk-0001",
    "started_at": T0,
    "routed_at": at(8),
    "queue": "senior",  # answered in: not the first queue, not the last CallQueued to arrive
    "caller_class": "existing",
    "priority": 5,
    "menu_path": "main:1",
    "fell_back": False,
    "fallback_reason": None,
    "queued_at": at(70),  # the later of the two joins (the later arrival wins otherwise)
    "ended_at": at(406),
    "hangup_cause": "Normal Clearing",
    "finished_in_menu_at": None,
    "outcome": "answered",
    "agent": "agent-7",
    "agent_channel": "PJSIP/agent-7-0001",
    "answered_at": at(85.5),
    "wait_seconds": 75.5,
    "talk_seconds": 320.25,
    "target_met": False,
    "escalations": "raise_priority,overflow",
    "over_guideline": True,
    "ended_by": "agent",
    "abandoned_at": None,
    "subscriber_id": None,  # the caller was not identified
    "predicted_wait_seconds": 60.0,  # predicted at the join; waited 75.5 s
}


def row(view: CallRecordView | None) -> dict[str, object]:
    assert view is not None
    fields = dataclasses.asdict(view)
    del fields["id"], fields["call_id"]
    return fields


def shuffled(events: Sequence[JournalEvent], rng: random.Random) -> list[JournalEvent]:
    """Any order, except that escalation steps keep theirs (the order they ran)."""
    order = rng.sample(list(events), len(events))
    steps = iter([e for e in events if isinstance(e, CallEscalated)])
    return [next(steps) if isinstance(e, CallEscalated) else e for e in order]


def write_split(
    sessions: sessionmaker[Session], events: Sequence[JournalEvent], rng: random.Random
) -> None:
    """`events` in transactions of random sizes (1 to all)."""
    n = 0
    while n < len(events):
        size = rng.randint(1, len(events) - n)
        write_events(sessions, events[n : n + size])
        n += size


def test_python_and_sql_merge_agree_whatever_the_order_and_batching(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    rng = random.Random(20261125)
    events = answered_call("x")
    # CallQueued(senior) arrives last among the queue events in some orders, CallQueued
    # (internet) in others: only the queued_at then depends on the order.
    for n in range(60):
        call_id = f"perm-{n}"
        order = [dataclasses.replace(e, call_id=call_id) for e in shuffled(events, rng)]
        if n % 3 == 0:
            write_events(sessions, order)  # one batch: merged in Python
        elif n % 3 == 1:
            for event in order:  # one event per transaction: merged by the database
                write_events(sessions, [event])
        else:
            write_split(sessions, order, rng)
        got = row(repository.get(call_id))
        [python] = merge_events(order)
        queued = [e.at for e in order if isinstance(e, CallQueued)][-1]
        assert got == {**EXPECTED, "queued_at": queued}, order
        assert {k: python[k] for k in EXPECTED if k != "outcome"} == {
            k: got[k] for k in EXPECTED if k != "outcome"
        }


def test_abandoned_call_merges_the_same_in_any_order(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    rng = random.Random(7)
    events: list[JournalEvent] = [
        CallStarted("a", LINE, "+380441234567", "PJSIP/trunk-0002", at=T0),
        CallRouted("a", LINE, "+380441234567", "internet", "existing", 5, (), at=at(5)),
        CallQueued("a", "internet", 3, at=at(6)),
        AnswerTargetMissed("a", "internet", LINE, 30.0, at=at(36)),
        CallEscalated("a", "internet", "offer_callback", "declined", 45.0, at=at(51)),
        CallEscalated("a", "internet", "overflow", "to general", 60.0, at=at(66)),
        CallAbandoned("a", "general", 70.0, at=at(76)),
        CallEnded("a", "Normal Clearing", at=at(76)),
    ]
    expected = None
    for n in range(30):
        call_id = f"ab-{n}"
        write_split(
            sessions, [dataclasses.replace(e, call_id=call_id) for e in shuffled(events, rng)], rng
        )
        got = row(repository.get(call_id))
        if expected is None:
            expected = got
        assert got == expected
    assert expected is not None
    assert (expected["queue"], expected["outcome"], expected["abandoned_at"]) == (
        "general",  # the queue the caller left from, after the overflow
        "abandoned",
        at(76),
    )
    assert (expected["wait_seconds"], expected["target_met"], expected["answered_at"]) == (
        70.0,
        False,
        None,
    )
    assert expected["escalations"] == "offer_callback,overflow"
    assert expected["over_guideline"] is False


@pytest.mark.parametrize("split", ["one batch", "one per transaction"])
def test_escalations_append_without_duplicates(
    sessions: sessionmaker[Session], repository: JournalRepository, split: str
) -> None:
    def step(name: str) -> CallEscalated:
        return CallEscalated("e", "internet", name, "", 30.0)

    events = [
        step("overflow_senior"),  # contains "overflow": must not hide it
        step("raise_priority"),
        step("raise_priority"),  # delivered twice
        step("overflow"),
        step("overflow_senior"),
        step("offer,callback"),  # the separator cannot get into a step
    ]
    if split == "one batch":
        write_events(sessions, events)
    else:
        for event in events:
            write_events(sessions, [event])
    view = repository.get("e")
    assert view is not None
    assert view.escalations == "overflow_senior,raise_priority,overflow,offer callback"
    # Stored steps meet a batch with several, some already stored.
    write_events(sessions, [step("raise_priority"), step("new_step"), step("overflow")])
    view = repository.get("e")
    assert view is not None
    assert view.escalations == "overflow_senior,raise_priority,overflow,offer callback,new_step"
    assert view.outcome == "started"


@pytest.mark.parametrize("split", ["one batch", "one per transaction"])
def test_a_failed_step_is_listed_once_as_failed_then_as_run_late(
    sessions: sessionmaker[Session], repository: JournalRepository, split: str
) -> None:
    def attempt(n: int, failed: bool, late: float) -> CallEscalated:
        detail = "failed: not connected" if failed else "priority 5 -> 8"
        return CallEscalated(
            "r", "q", "raise_priority", detail, 20 + late, late=late, failed=failed, attempt=n
        )

    events = [
        attempt(1, True, 0.0),  # AMI down at its time
        attempt(2, True, 1.0),  # retried 1 s later: down still
        attempt(3, False, 4.25),  # AMI back: run at once, late
        CallEscalated("r", "q", "overflow", "q -> senior", 40.0),  # on time
    ]
    if split == "one batch":
        write_events(sessions, events)
    else:
        for event in events:
            write_events(sessions, [event])
    view = repository.get("r")
    assert view is not None
    assert view.escalations == "raise_priority failed,raise_priority late 4.2s,overflow"


def test_append_steps_and_upsert_rounds() -> None:
    assert append_steps(None, None) is None
    assert append_steps(None, "a") == "a"
    assert append_steps("a", None) == "a"
    assert append_steps("a,b", "b,c,a,d") == "a,b,c,d"
    rows = merge_events(
        [
            CallEscalated("m", "q", "a", "", 1.0),
            CallEscalated("m", "q", "b", "", 2.0),
            CallEscalated("m", "q", "c", "", 3.0),
            CallEscalated("o", "q", "z", "", 1.0),
            CallStarted("p", LINE, "1", "c"),
        ]
    )
    rounds = upsert_rounds(rows)
    assert [[(r["call_id"], r["escalations"]) for r in batch] for batch in rounds] == [
        [("m", "a"), ("o", "z"), ("p", None)],
        [("m", "b")],
        [("m", "c")],
    ]
    assert all(set(r) == set(rows[0]) for batch in rounds for r in batch)  # complete rows
    assert rounds[1][0]["over_guideline"] is False and rounds[1][0]["fell_back"] is False


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        (["answered_in_time"], True),
        (["answered_late"], False),
        (["missed"], False),
        (["missed", "answered_in_time"], False),  # false wins, whatever arrives last
        (["answered_in_time", "missed"], False),
        (["answered_in_time", "answered_in_time"], True),
    ],
)
def test_target_met_is_unknown_until_known_and_false_wins(
    sessions: sessionmaker[Session],
    repository: JournalRepository,
    events: list[str],
    expected: bool | None,
) -> None:
    def make(call_id: str, name: str) -> JournalEvent:
        if name == "missed":
            return AnswerTargetMissed(call_id, "internet", "", 30.0)
        met = name == "answered_in_time"
        return CallAnswered(call_id, "internet", "agent-1", "PJSIP/agent-1-01", 12.0, met)

    write_events(sessions, [CallStarted("py", LINE, "1", "c"), *(make("py", e) for e in events)])
    write_events(sessions, [CallStarted("sql", LINE, "1", "c")])
    for name in events:
        write_events(sessions, [make("sql", name)])
    for call_id in ("py", "sql"):
        view = repository.get(call_id)
        assert view is not None
        assert view.target_met is expected
        assert view.line == LINE  # AnswerTargetMissed without a line keeps the line


def test_talk_limits(sessions: sessionmaker[Session], repository: JournalRepository) -> None:
    def limit(call_id: str, level: str) -> TalkLimitReached:
        return TalkLimitReached(call_id, "internet", "agent-1", "PJSIP/agent-1-01", level, 1.0)

    write_events(sessions, [limit("w", "warning")])  # accepted, changes nothing
    write_events(sessions, [limit("w", "no_such_level")])
    write_events(sessions, [limit("g", "guideline"), limit("g", "warning")])
    write_events(sessions, [limit("h", "hard_limit")])
    write_events(sessions, [limit("h", "warning")])  # never back to false
    views = {v.call_id: v for v in repository.recent()}
    assert {k: v.over_guideline for k, v in views.items()} == {"w": False, "g": True, "h": True}
    assert views["w"].outcome == "started" and views["w"].agent is None


def test_outcomes_through_a_queue(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    def outcome(call_id: str) -> str | None:
        view = repository.get(call_id)
        assert view is not None
        return view.outcome

    started = CallStarted("o1", LINE, "1", "c", at=T0)
    queued = CallQueued("o1", "internet", 1, at=at(5))
    write_events(sessions, [started, queued])
    assert outcome("o1") == "queued"
    write_events(sessions, [CallAnswered("o1", "internet", "a", "PJSIP/a-1", 9.0, True, at(14))])
    assert outcome("o1") == "answered"
    write_events(sessions, [CallCompleted("o1", "internet", "a", 61.0, "caller", at(75))])
    write_events(sessions, [CallEnded("o1", "Normal Clearing", at=at(75))])
    assert outcome("o1") == "answered"  # still answered once ended

    abandoned: list[JournalEvent] = [
        dataclasses.replace(started, call_id="o2"),
        dataclasses.replace(queued, call_id="o2"),
        CallAbandoned("o2", "internet", 20.0, at=at(25)),
    ]
    write_events(sessions, abandoned)
    assert outcome("o2") == "abandoned"
    write_events(sessions, [CallEnded("o2", "Normal Clearing", at=at(25))])
    assert outcome("o2") == "abandoned"  # abandoned in the queue, not "ended"

    # Queued and ended, neither answered nor abandoned (e.g. took a callback): ended.
    write_events(
        sessions,
        [
            dataclasses.replace(started, call_id="o3"),
            dataclasses.replace(queued, call_id="o3"),
            CallEnded("o3", "Normal Clearing", at=at(40)),
        ],
    )
    assert outcome("o3") == "ended"


def test_completed_before_answered_keeps_the_answered_queue(
    sessions: sessionmaker[Session], repository: JournalRepository
) -> None:
    """CallCompleted knows the queue too: it outranks a later CallQueued."""
    write_events(sessions, [CallCompleted("k", "senior", "agent-2", 30.0, "transfer")])
    write_events(sessions, [CallQueued("k", "internet", 1, at=T0)])
    write_events(sessions, [CallRouted("k", LINE, "1", "internet", "x", 1, ())])
    view = repository.get("k")
    assert view is not None
    assert (view.queue, view.ended_by, view.agent, view.talk_seconds) == (
        "senior",
        "transfer",
        "agent-2",
        30.0,
    )
    assert view.outcome == "queued"  # answered_at not known yet

"""A small, hand-counted day for the report tests (2026-11-24 in Europe/Kyiv, UTC+2).

Calls (journal):            queue     line     wait  talk  target
  a1 answered by 1001       internet  5551000  10    100   met
  a2 answered by 1002       internet  5551000  15    400   met, over the guideline
  a3 answered by 1001       internet  5551000  50    60    missed
  b1 abandoned early        internet  5551000  5
  b2 abandoned late         tv        5553000  70          missed
  c1 answered by 1002       tv        5553000  8     200   met (an hour later)
  h1 answered, a day early  internet  5551000            (outside the window)
Unreachable reports: 3 against "555-4000" (line 5554000), 1 against 5553000, 1 a day early.
Agents: 1001 ready 07:00, in call 08:00-08:30, paused 09:00-10:00, logged out 11:00 (UTC);
rang 4 s (answered) and 6 s (missed). 1002 ready 07:00, in call 08:00-09:00, then ready
to the end of the window; rang 3 s (answered).
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AgentChanged,
    AgentRang,
    AnswerTargetMissed,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallQueued,
    CallRouted,
    CallStarted,
    TalkLimitReached,
    UnreachableReported,
)
from ivr.reports.window import Window
from ivr.storage.agent_log import write_agent_events
from ivr.storage.journal import JournalEvent, write_events
from ivr.storage.reports import write_reports

KYIV = ZoneInfo("Europe/Kyiv")
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 10:00 in Kyiv
DAY = Window(
    datetime(2026, 11, 23, 22, 0, tzinfo=UTC), datetime(2026, 11, 24, 22, 0, tzinfo=UTC), KYIV
)


def at(seconds: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def _queued(call_id: str, line: str, queue: str, start: datetime) -> list[JournalEvent]:
    return [
        CallStarted(call_id, line, "+380441234567", "PJSIP/trunk-1", at=start),
        CallRouted(call_id, line, "+380441234567", queue, "existing", 5, (), at=at(5, start)),
        CallQueued(call_id, queue, 1, at=at(6, start)),
    ]


def _answered(
    call_id: str,
    line: str,
    queue: str,
    agent: str,
    wait: float,
    talk: float,
    start: datetime = T0,
) -> list[JournalEvent]:
    met = wait <= 20
    events = _queued(call_id, line, queue, start)
    if not met:
        events.append(AnswerTargetMissed(call_id, queue, line, 20.0, at=at(26, start)))
    answered = at(6 + wait, start)
    events.append(CallAnswered(call_id, queue, agent, f"Local/{agent}", wait, met, at=answered))
    if talk > 300:
        events.append(
            TalkLimitReached(call_id, queue, agent, "x", "guideline", 300, at=at(300, answered))
        )
    ended = at(talk, answered)
    events.append(CallCompleted(call_id, queue, agent, talk, "caller", at=ended))
    events.append(CallEnded(call_id, "Normal Clearing", at=ended))
    return events


def _abandoned(call_id: str, line: str, queue: str, wait: float) -> list[JournalEvent]:
    events = _queued(call_id, line, queue, T0)
    if wait > 20:
        events.append(AnswerTargetMissed(call_id, queue, line, 20.0, at=at(26)))
    events.append(CallAbandoned(call_id, queue, wait, at=at(6 + wait)))
    events.append(CallEnded(call_id, "Normal Clearing", at=at(6 + wait)))
    return events


def _report(call_id: str, line: str, when: datetime, name: str = "") -> UnreachableReported:
    return UnreachableReported(
        call_id,
        line,
        "5551000",
        "leaflet",
        "+380671112233",
        "no_answer",
        "+380501234567",
        full_name=name,
        details="довго грає музика",
        at=when,
    )


def seed(sessions: sessionmaker[Session]) -> None:
    write_events(
        sessions,
        [
            *_answered("a1", "5551000", "internet", "1001", 10, 100),
            *_answered("a2", "5551000", "internet", "1002", 15, 400),
            *_answered("a3", "5551000", "internet", "1001", 50, 60),
            *_abandoned("b1", "5551000", "internet", 5),
            *_abandoned("b2", "5553000", "tv", 70),
            *_answered("c1", "5553000", "tv", "1002", 8, 200, start=at(3600)),
            *_answered("h1", "5551000", "internet", "1001", 2, 10, start=at(-86400)),
        ],
    )
    write_reports(
        sessions,
        [
            _report("r1", "555-4000", at(600), "Петро Іваненко"),
            _report("r2", "5554000", at(1200)),
            _report("r3", "5554000", at(7200), "Марія Сидоренко"),
            _report("r4", "5553000", at(1800)),
            _report("r0", "5554000", at(-86400)),
        ],
    )
    hour = 3600
    write_agent_events(
        sessions,
        [
            AgentChanged("1001", "", "ready", at=at(-hour)),
            AgentChanged("1002", "", "ready", at=at(-hour)),
            AgentChanged("1001", "internet", "in_call", at=T0),
            AgentChanged("1002", "internet", "in_call", at=T0),
            AgentRang("1001", "internet", "a1", 4.0, True, at=T0),
            AgentRang("1002", "internet", "a2", 3.0, True, at=T0),
            AgentRang("1001", "internet", "a2", 6.0, False, at=at(-10)),
            AgentChanged("1001", "", "ready", at=at(hour / 2)),
            AgentChanged("1001", "", "paused", "lunch", at=at(hour)),
            AgentChanged("1002", "", "ready", at=at(hour)),
            AgentChanged("1001", "", "ready", at=at(2 * hour)),
            AgentChanged("1001", "", "logged_out", at=at(3 * hour)),
        ],
    )

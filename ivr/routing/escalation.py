"""Pure decisions for waiting and talking callers: what is due when, and who goes next.

No I/O and no clock: the monitors pass the elapsed seconds in.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ivr.queues.model import EscalationStep, QueueSpec

TARGET = -1  # the mark index of the answer target itself


@dataclass(frozen=True)
class Mark:
    """Something due once a caller has waited `after` seconds: the answer target
    (index TARGET) or escalation step `index` of the ladder."""

    after: float
    index: int
    step: EscalationStep | None = None


def waiting_marks(queue: QueueSpec) -> tuple[Mark, ...]:
    """The answer target and the queue's escalation ladder, in the order they fall due
    (the target first when a step shares its time)."""
    marks = [Mark(queue.answer_target, TARGET)]
    marks += [Mark(step.after, i, step) for i, step in enumerate(queue.escalation)]
    return tuple(sorted(marks, key=lambda m: (m.after, m.index)))


def due_marks(marks: Iterable[Mark], waited: float, done: Iterable[int]) -> list[Mark]:
    """Marks that are due after `waited` seconds and have not run (each runs once)."""
    finished = set(done)
    return [m for m in marks if m.after <= waited and m.index not in finished]


def next_mark(marks: Iterable[Mark], done: Iterable[int]) -> Mark | None:
    finished = set(done)
    return next((m for m in marks if m.index not in finished), None)


def raised_priority(priority: int, step: EscalationStep) -> int:
    return priority + step.raise_by


@dataclass(frozen=True)
class TalkMark:
    after: float
    level: str  # warning | guideline | hard_limit


def talk_marks(queue: QueueSpec) -> tuple[TalkMark, ...]:
    """When an answered call gets the warning beep, the guideline beep and, if configured,
    is ended."""
    marks = [TalkMark(queue.talk_guideline, "guideline")]
    if queue.talk_warning > 0:
        marks.append(TalkMark(queue.talk_warning, "warning"))
    if queue.hard_limit > 0:
        marks.append(TalkMark(queue.hard_limit, "hard_limit"))
    return tuple(sorted(marks, key=lambda m: m.after))


@dataclass(frozen=True)
class Waiting:
    """A caller waiting in a queue, as the callback rule sees it."""

    queue: str
    caller_class: str
    since: datetime


def callback_may_dial(callback: Waiting, waiting: Iterable[Waiting]) -> bool:
    """A callback is dialled only when nobody of its class in its queue has waited longer:
    it never jumps ahead of a caller who waited longer in the same class."""
    return not any(
        w.queue == callback.queue
        and w.caller_class == callback.caller_class
        and w.since < callback.since
        for w in waiting
    )

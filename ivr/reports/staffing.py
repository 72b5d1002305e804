"""Staffing per hour: the agents Erlang C says each hour needed, against those logged in.

Per queue and hour: calls per hour = offered / the hour's length (a cut hour is scaled
up), handle time = mean talk time + the queue's wrapup (the hour's talk time, else the
window's for that queue when none of the hour's calls has ended yet), and the queue's own
answer_target and service_level_goal (queues.yaml). A queue unknown to queues.yaml (its
calls' queue was renamed or removed) is counted with the fallback queue's settings. The
queues are counted apart and added up: agents shared between queues make the real need
somewhat lower.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ivr.queues.model import QueuesConfig, QueueSpec
from ivr.reports.erlang import agents_needed
from ivr.storage.staffing import QueueCalls, StaffingHour


@dataclass(frozen=True)
class StaffingRow:
    hour: str  # local "YYYY-MM-DDTHH:00"
    offered: int
    handle_seconds: float | None  # mean handle time of the hour's calls (talk + wrapup)
    erlangs: float  # offered load
    needed: int | None  # None: a queue's handle time is not known yet
    logged_in_average: float
    logged_in_max: int

    @property
    def gap(self) -> float | None:
        """Agents short (positive) or spare (negative) on average over the hour."""
        return None if self.needed is None else self.needed - self.logged_in_average


def _mean_talks(hours: Sequence[StaffingHour]) -> dict[str, float]:
    """Each queue's mean talk time over the window (queues with an ended call)."""
    totals: dict[str, QueueCalls] = {}
    for hour in hours:
        for name, calls in hour.queues.items():
            total = totals.setdefault(name, QueueCalls())
            total.talked += calls.talked
            total.talk_seconds += calls.talk_seconds
    return {name: t.talk_seconds / t.talked for name, t in totals.items() if t.talked}


MIN_HANDLE = 1.0  # s: the least handle time a call counts for (Erlang C needs one above 0)


def _spec(config: QueuesConfig, name: str) -> QueueSpec:
    return config.queues.get(name) or config.queues[config.fallback_queue]


def staffing_row(
    hour: StaffingHour, config: QueuesConfig, mean_talks: Mapping[str, float]
) -> StaffingRow:
    offered, counted, needed, erlangs, handled = 0, 0, 0, 0.0, 0.0
    known = True  # every queue's handle time is known
    for name, calls in hour.queues.items():
        if not calls.offered:
            continue
        spec = _spec(config, name)
        talk = calls.talk_seconds / calls.talked if calls.talked else mean_talks.get(name)
        offered += calls.offered
        if talk is None:
            known = False
            continue
        handle = max(MIN_HANDLE, talk + spec.wrapup)  # no talk and no wrapup: still a call
        staffing = agents_needed(
            calls.offered * 3600 / hour.seconds,
            handle,
            spec.answer_target,
            spec.service_level_goal / 100,
        )
        needed += staffing.agents
        erlangs += staffing.traffic
        counted += calls.offered
        handled += calls.offered * handle
    return StaffingRow(
        hour=hour.key,
        offered=offered,
        handle_seconds=handled / counted if counted else None,
        erlangs=erlangs,
        needed=needed if known else None,
        logged_in_average=hour.logged_in_average,
        logged_in_max=hour.logged_in_max,
    )


def staffing_rows(hours: Sequence[StaffingHour], config: QueuesConfig) -> list[StaffingRow]:
    mean_talks = _mean_talks(hours)
    return [staffing_row(hour, config, mean_talks) for hour in hours]


def goals_label(config: QueuesConfig, queue: str | None = None) -> str:
    """The goal(s) as people read them: "80 % within 20 s" (or each distinct pair)."""
    specs = [config.queues[queue]] if queue else list(config.queues.values())
    pairs = sorted({(s.service_level_goal, s.answer_target) for s in specs})
    return ", ".join(f"{goal:g} % within {target:g} s" for goal, target in pairs)

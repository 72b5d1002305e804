"""Erlang C: the agents a queue needs to answer a share of its calls within a target.

The textbook M/M/N model (Poisson arrivals, exponential handle times, callers who wait):
traffic A = calls per hour x average handle time / 3600 s (in Erlangs), and with N > A
agents

    P(wait)        = C(N, A) = N B / (N - A (1 - B)),  B = Erlang B(N, A)
    service level  = 1 - P(wait) exp(-(N - A) target / handle time)
    ASA            = P(wait) handle time / (N - A)

Erlang B by its recurrence B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)): no factorials or
powers, so no overflow at hundreds of agents. About 30 lines: a library (pyworkforce and
the like bring numpy/pandas and their own staffing models) would not beat it.
"""

import math
from dataclasses import dataclass

MAX_AGENTS = 10_000  # far beyond any queue; a demand past it is refused, not looped on


@dataclass(frozen=True)
class Staffing:
    agents: int  # the fewest agents meeting the goal
    traffic: float  # Erlangs
    service_level: float  # share answered within the target with `agents`
    wait_probability: float  # P(wait) with `agents`
    asa: float  # average speed of answer, seconds, with `agents`


def traffic(calls_per_hour: float, handle_seconds: float) -> float:
    """The offered load in Erlangs."""
    return calls_per_hour * handle_seconds / 3600.0


def wait_probability(agents: int, load: float) -> float:
    """Erlang C: the share of callers who wait (1.0 when agents <= load: the queue grows)."""
    if agents <= load:
        return 1.0
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return agents * blocking / (agents - load * (1 - blocking))


def service_level(agents: int, load: float, target: float, handle_seconds: float) -> float:
    """The share of calls answered within `target` seconds (0.0 when agents <= load)."""
    if agents <= load:
        return 0.0
    waits = wait_probability(agents, load)
    return max(0.0, 1.0 - waits * math.exp(-(agents - load) * target / handle_seconds))


def agents_needed(
    calls_per_hour: float, handle_seconds: float, target: float, goal: float
) -> Staffing:
    """The fewest agents answering `goal` (0..1) of the calls within `target` seconds."""
    if calls_per_hour < 0 or handle_seconds <= 0 or target < 0 or not 0 < goal < 1:
        raise ValueError(
            f"expected calls >= 0, handle time > 0, target >= 0 and 0 < goal < 1, got "
            f"{calls_per_hour}, {handle_seconds}, {target}, {goal}"
        )
    load = traffic(calls_per_hour, handle_seconds)
    if load == 0:
        return Staffing(0, 0.0, 1.0, 0.0, 0.0)
    agents = math.floor(load) + 1
    while service_level(agents, load, target, handle_seconds) < goal:
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(f"{load:.0f} Erlangs need more than {MAX_AGENTS} agents")
    waits = wait_probability(agents, load)
    level = service_level(agents, load, target, handle_seconds)
    return Staffing(agents, load, level, waits, waits * handle_seconds / (agents - load))

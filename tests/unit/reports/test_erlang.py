"""Erlang C against a published worked example and the printed formula."""

import math

import pytest

from ivr.reports.erlang import (
    agents_needed,
    service_level,
    traffic,
    wait_probability,
)


def test_the_call_centre_helper_example_needs_14_agents_for_80_in_20() -> None:
    # 100 calls per half hour (200 an hour), 3 min handle time: 10 Erlangs. Published:
    # 13 agents answer 79.6 % within 20 s (short of 80 %), 14 answer 88.8 % with P(wait)
    # 0.1741 (callcentrehelper.com's worked example; pyworkforce's README prints the same).
    assert traffic(200, 180) == pytest.approx(10.0)
    assert service_level(13, 10.0, 20, 180) == pytest.approx(0.7956, abs=1e-4)
    assert service_level(14, 10.0, 20, 180) == pytest.approx(0.8884, abs=1e-4)
    staffing = agents_needed(200, 180, 20, 0.8)
    assert staffing.agents == 14
    assert staffing.traffic == pytest.approx(10.0)
    assert staffing.wait_probability == pytest.approx(0.1741, abs=1e-4)
    assert staffing.asa == pytest.approx(7.84, abs=0.01)


def textbook_wait_probability(agents: int, load: float) -> float:
    """The formula as printed: A^N/N! N/(N-A) / (sum A^k/k! for k < N + A^N/N! N/(N-A))."""
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    return top / (sum(load**k / math.factorial(k) for k in range(agents)) + top)


@pytest.mark.parametrize(("agents", "load"), [(1, 0.5), (5, 3.2), (14, 10.0), (55, 48.0)])
def test_the_recurrence_equals_the_printed_formula(agents: int, load: float) -> None:
    assert wait_probability(agents, load) == pytest.approx(textbook_wait_probability(agents, load))


def test_no_calls_need_no_agent_and_any_call_needs_one() -> None:
    assert agents_needed(0, 180, 20, 0.8).agents == 0
    assert agents_needed(1, 180, 20, 0.8).agents == 1


def test_too_few_agents_for_the_load_never_answer_in_time() -> None:
    assert wait_probability(10, 10.0) == 1.0
    assert service_level(9, 10.0, 20, 180) == 0.0


def test_hundreds_of_agents_do_not_overflow() -> None:
    staffing = agents_needed(12_000, 180, 20, 0.9)  # 600 Erlangs
    assert 600 < staffing.agents < 640
    assert staffing.service_level >= 0.9


@pytest.mark.parametrize(
    ("calls", "handle", "target", "goal"),
    [(-1, 180, 20, 0.8), (10, 0, 20, 0.8), (10, 180, -1, 0.8), (10, 180, 20, 1.0)],
)
def test_impossible_inputs_are_refused(
    calls: float, handle: float, target: float, goal: float
) -> None:
    with pytest.raises(ValueError, match="expected calls >= 0"):
        agents_needed(calls, handle, target, goal)

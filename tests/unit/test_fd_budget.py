"""The file-descriptor budget: HTTP gets what the limit leaves after the reserve."""

import resource

from ivr.fd_budget import AUTO_RESERVE_MIN, MIN_HTTP_CONNECTIONS, FdBudget, take_budget
from ivr.web.limits import HttpLimits


def test_http_gets_the_rest_of_the_limit() -> None:
    budget = FdBudget(limit=1024, in_use=30, reserve=512, http_backlog=128)
    assert budget.http == 1024 - 30 - 512 - 128
    assert not budget.starved


def test_a_limit_too_small_for_the_reserve_leaves_http_its_minimum() -> None:
    budget = FdBudget(limit=300, in_use=30, reserve=256, http_backlog=128)
    assert budget.http == MIN_HTTP_CONNECTIONS
    assert budget.starved


def test_the_automatic_reserve_is_half_the_limit_and_at_least_the_minimum() -> None:
    budget = take_budget(0, 128)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert budget.limit == soft  # raised to the hard limit where allowed
    assert budget.reserve == max(soft // 2, AUTO_RESERVE_MIN)
    assert 0 < budget.in_use < soft
    assert take_budget(300, 128).reserve == 300


def test_the_caps_are_lowered_to_the_budget_never_raised() -> None:
    limits = HttpLimits(max_connections=1000, max_streams=200)
    assert (limits.within(240).max_connections, limits.within(240).max_streams) == (240, 120)
    assert (limits.within(5000).max_connections, limits.within(5000).max_streams) == (1000, 200)

"""outage: tell the caller about a mass outage in his area before he queues."""

from datetime import UTC, datetime
from typing import Any

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES
from ivr.subscribers import Outage

from .conftest import END, IVAN, NOON, UNKNOWN_NUMBER, Env

KYIV_CUT = Outage(1, "Kyiv", "internet", "fibre cut", datetime(2026, 11, 24, 16, 30, tzinfo=UTC))
LVIV_STORM = Outage(2, "Lviv", "", "storm", datetime(2026, 11, 25, 6, 0, tzinfo=UTC))


def outage(identify: bool = False, **spec: Any) -> dict[str, Any]:
    node = {
        "type": "outage",
        "service": "internet",
        "prompt": {"say": "{outage_area}: {outage_message} until {outage_restore}"},
        "active": "active",
        "none": "none",
        **spec,
    }
    node = {k: v for k, v in node.items() if v is not None}
    first = {"i": {"type": "identify", "found": "o", "not_found": "o"}} if identify else {}
    return {**first, "o": node, "active": END, "none": END}


async def test_an_outage_on_the_lines_city_is_announced(env: Env) -> None:
    env.directory.outages.append(KYIV_CUT)
    call = await env.run(outage())
    assert call.path == ["o:active", "active:hangup"]
    assert call.vars == {
        "outage_area": "Kyiv",
        "outage_message": "fibre cut",
        "outage_restore": "18:30",  # local time: Kyiv is UTC+2 in November
        "outage_restore_date": "2026-11-24",
    }
    assert call.heard == ["say[uk]: Kyiv: fibre cut until 18:30"]
    assert env.directory.lookups == [("outage", "Kyiv/internet")]
    assert env.directory.outage_times == [NOON]


async def test_the_identified_subscribers_city_comes_before_the_lines(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    env.directory.outages += [KYIV_CUT, LVIV_STORM]
    call = await env.run(outage(identify=True))
    assert env.directory.lookups[-1] == ("outage", "Lviv/internet")
    assert call.vars["outage_message"] == "storm"  # posted for every service
    assert (call.vars["outage_restore"], call.vars["outage_restore_date"]) == (
        "08:00",
        "2026-11-25",
    )


async def test_no_outage_plays_nothing_and_sets_nothing(env: Env) -> None:
    env.directory.outages.append(LVIV_STORM)
    call = await env.run(outage())
    assert call.path == ["o:none", "none:hangup"]
    assert call.heard == []
    assert call.vars == {}


async def test_an_outage_of_another_service_is_not_announced(env: Env) -> None:
    env.directory.outages.append(KYIV_CUT)
    call = await env.run(outage(service="tv"))
    assert call.ended_at == "none"


async def test_unknown_restore_time_is_empty(env: Env) -> None:
    env.directory.outages.append(Outage(3, "Kyiv", "", "works", None))
    call = await env.run(outage(service=None))
    assert env.directory.lookups == [("outage", "Kyiv/")]
    assert (call.vars["outage_restore"], call.vars["outage_restore_date"]) == ("", "")
    assert call.heard == ["say[uk]: Kyiv: works until "]


async def test_no_area_is_no_outage_and_no_lookup(env: Env) -> None:
    env.directory.outages.append(KYIV_CUT)
    call = await env.run(outage(), number=UNKNOWN_NUMBER)
    assert call.ended_at == "none"
    assert env.directory.lookups == []


async def test_without_a_prompt_an_outage_is_silent(env: Env) -> None:
    env.directory.outages.append(KYIV_CUT)
    call = await env.run(outage(prompt=None))
    assert call.ended_at == "active"
    assert call.heard == []


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"service": 5}, ("service",), "expected a service name (internet, tv, ...)"),
        ({"active": None}, ("active",), "expected a node id"),
        ({"none": None}, ("none",), "expected a node id"),
        ({"prompt": [{"say": ""}]}, ("prompt", 0), "expected text to say or {sound: name}"),
    ],
)
def test_check_rejects(spec: dict[str, Any], key: tuple[object, ...], message: str) -> None:
    node = {k: v for k, v in {**outage()["o"], **spec}.items() if v is not None}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["outage"].check(node)
    assert (info.value.key, info.value.message) == (key, message)

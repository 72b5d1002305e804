"""meter_reading: store a reading for the identified subscriber's or the entered contract."""

from typing import Any

import pytest

from ivr.events.model import MeterReadingSubmitted
from ivr.flow.runner import FlowRunError, run_flow
from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import CALLER, END, IVAN, NOON, Env


def meter(
    values: dict[str, str] | None = None, identify: bool = False, **spec: Any
) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    if identify:
        nodes["i"] = {"type": "identify", "found": "s", "not_found": "s"}
    nodes["s"] = {"type": "set", "vars": values or {"unused": ""}, "next": "m"}
    nodes["m"] = {"type": "meter_reading", "reading": "reading", "next": "done", **spec}
    return {**nodes, "done": END}


async def test_the_identified_subscribers_contract(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(meter({"reading": "004512"}, identify=True))
    assert env.records == [
        MeterReadingSubmitted(
            call_id="call-1",
            line="5551000",
            caller=CALLER,
            contract="12345678",
            subscriber_id=7,
            reading="004512",
            at=NOON,
        )
    ]
    assert call.path == ["i:found", "m:recorded", "done:hangup"]


async def test_the_contract_variable_without_a_subscriber(env: Env) -> None:
    await env.run(meter({"reading": "17", "entered": "55554444"}, contract="entered"))
    event = env.records[0]
    assert isinstance(event, MeterReadingSubmitted)
    assert (event.contract, event.subscriber_id) == ("55554444", None)


async def test_the_contract_variable_wins_over_the_subscriber(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    await env.run(
        meter({"reading": "17", "entered": "55554444"}, identify=True, contract="entered")
    )
    event = env.records[0]
    assert isinstance(event, MeterReadingSubmitted)
    assert (event.contract, event.subscriber_id) == ("55554444", None)


async def test_an_empty_contract_variable_uses_the_subscriber(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    await env.run(meter({"reading": "17"}, identify=True, contract="entered"))
    event = env.records[0]
    assert isinstance(event, MeterReadingSubmitted)
    assert (event.contract, event.subscriber_id) == ("12345678", 7)


async def test_no_contract_fails_to_the_operator(env: Env) -> None:
    call = env.call(meter({"reading": "17"}))
    with pytest.raises(FlowRunError, match="m: no contract for the meter reading"):
        await run_flow(call.ctx)
    assert env.records == []


async def test_no_reading_fails_to_the_operator(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = env.call(meter(identify=True))
    with pytest.raises(FlowRunError, match=r"m: variable 'reading' \(reading\) is empty"):
        await run_flow(call.ctx)
    assert env.records == []


@pytest.mark.parametrize(
    ("spec", "key"), [({"reading": None}, ("reading",)), ({"contract": "a-b"}, ("contract",))]
)
def test_check_rejects(spec: dict[str, Any], key: tuple[str]) -> None:
    node = {"type": "meter_reading", "reading": "reading", "next": "n", **spec}
    node = {k: v for k, v in node.items() if v is not None}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["meter_reading"].check(node)
    assert (info.value.key, info.value.message) == (
        key,
        "expected a variable name (letters, digits, _)",
    )

"""unreachable_report: a report against the number that did not work."""

from typing import Any

import pytest

from ivr.events.model import UnreachableReported
from ivr.flow.runner import FlowRunError, run_flow
from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import CALLER, END, IVAN, NOON, Env

VARS = {
    "broken": "5553000",
    "where": "leaflet",
    "from_phone": "0501234567",
    "what": "no_answer",
    "notes": "rang out",
}


def report(values: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    node = {
        "type": "unreachable_report",
        "number": "broken",
        "published": "where",
        "dialled_from": "from_phone",
        "problem": "what",
        "details": "notes",
        "next": "done",
        **spec,
    }
    node = {k: v for k, v in node.items() if v is not None}
    first = {"s": {"type": "set", "vars": values, "next": "r"}} if values else {}
    return {**first, "r": node, "done": END}


async def test_records_the_report_against_the_unreachable_number(env: Env) -> None:
    call = await env.run(report(VARS))
    assert env.records == [
        UnreachableReported(
            call_id="call-1",
            reported_line="5553000",
            via_line="5551000",
            published="leaflet",
            dialled_from="0501234567",
            problem="no_answer",
            caller=CALLER,
            subscriber_id=None,
            contract="",
            full_name="",
            address="",
            details="rang out",
            source="ivr",
            at=NOON,
        )
    ]
    assert call.path == ["r:recorded", "done:hangup"]


async def test_an_identified_caller_adds_his_subscriber_data(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    flow = {"i": {"type": "identify", "found": "s", "not_found": "s"}, **report(VARS)}
    await env.run(flow)
    event = env.records[0]
    assert isinstance(event, UnreachableReported)
    assert (event.subscriber_id, event.contract, event.full_name, event.address) == (
        7,
        "12345678",
        "Іван Петренко",
        "Lviv, Shevchenka 1",
    )


@pytest.mark.parametrize("values", [{"broken": "5553000"}, {"broken": "5553000", "from_phone": ""}])
async def test_dialled_from_defaults_to_the_caller(env: Env, values: dict[str, str]) -> None:
    await env.run(report(values))
    event = env.records[0]
    assert isinstance(event, UnreachableReported)
    assert event.dialled_from == CALLER


async def test_without_dialled_from_and_details_keys(env: Env) -> None:
    await env.run(report(VARS, dialled_from=None, details=None))
    event = env.records[0]
    assert isinstance(event, UnreachableReported)
    assert (event.dialled_from, event.details) == (CALLER, "")


async def test_empty_published_and_problem(env: Env) -> None:
    await env.run(report({"broken": "5553000"}))
    event = env.records[0]
    assert isinstance(event, UnreachableReported)
    assert (event.published, event.problem, event.details) == ("", "other", "")


async def test_a_missing_number_fails_to_the_operator(env: Env) -> None:
    call = env.call(report({"where": "site"}))
    with pytest.raises(FlowRunError, match=r"r: variable 'broken' \(number\) is empty"):
        await run_flow(call.ctx)
    assert env.records == []


@pytest.mark.parametrize("key", ["number", "published", "problem"])
def test_check_requires(key: str) -> None:
    node = {k: v for k, v in report()["r"].items() if k != key}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["unreachable_report"].check(node)
    assert (info.value.key, info.value.message) == (
        (key,),
        "expected a variable name (letters, digits, _)",
    )


def test_check_rejects_a_value_instead_of_a_variable_name() -> None:
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["unreachable_report"].check(report(number="555-30-00")["r"])
    assert info.value.key == ("number",)

"""callback: record a callback request and tell the caller by when (local time)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ivr.events.model import CallbackRequested
from ivr.flow.loader import FlowError
from ivr.flow.runner import FlowRunError, run_flow
from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import CALLER, END, IVAN, NOON, RU_LINE, Env, build_library


def callback(before: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    node = {
        "type": "callback",
        "within": 30,
        "queue": "internet",
        "class": "existing_service",
        "prompt": {"say": "by {callback_by}, in {callback_minutes} minutes"},
        "next": "done",
        "on_fail": "failed",
        **spec,
    }
    first = {"s": {"type": "set", "vars": before, "next": "cb"}} if before else {}
    return {**first, "cb": node, "done": END, "failed": END}


async def test_records_the_request_with_the_promised_time(env: Env) -> None:
    call = await env.run(callback())
    assert env.records == [
        CallbackRequested(
            call_id="call-1",
            line="5551000",
            phone=CALLER,
            name="",
            queue="internet",
            caller_class="existing_service",
            promised_by=NOON + timedelta(minutes=30),
            at=NOON,
            language="uk",  # the line's (the default)
        )
    ]
    assert call.path == ["cb:requested", "done:hangup"]


async def test_tells_the_caller_the_local_time(env: Env) -> None:
    call = await env.run(callback())
    assert call.vars == {  # Kyiv is UTC+2
        "callback_by": "12:30",
        "callback_from": "12:00",
        "callback_minutes": "30",
    }
    assert call.heard == ["say[uk]: by 12:30, in 30 minutes"]


async def test_local_time_in_summer_and_past_midnight(env: Env) -> None:
    env.clock.at = datetime(2026, 7, 1, 20, 50, tzinfo=UTC)  # 23:50 in Kyiv (UTC+3)
    call = await env.run(callback())
    assert call.vars["callback_by"] == "02.07 00:20"  # past midnight: the day is said too


async def test_within_defaults_to_an_hour(env: Env) -> None:
    flow = callback()
    del flow["cb"]["within"]
    call = await env.run(flow)
    assert call.vars == {"callback_by": "13:00", "callback_from": "12:00", "callback_minutes": "60"}
    assert isinstance(env.records[0], CallbackRequested)
    assert env.records[0].promised_by == NOON + timedelta(hours=1)


async def test_the_request_keeps_the_language_the_call_used(env: Env) -> None:
    await env.run(callback(), number=RU_LINE.number)
    assert isinstance(env.records[0], CallbackRequested)
    assert env.records[0].language == "ru"


LATER = {"say": "from {callback_from}, by {callback_by}"}


async def test_after_hours_it_is_dialled_from_the_opening_and_says_so(env: Env) -> None:
    """Tuesday 23:00 in Kyiv: operators open Wednesday 08:00; 30 minutes from then."""
    env.clock.at = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    call = await env.run(callback(hours="operators", later_prompt=LATER))
    [request] = env.records
    assert isinstance(request, CallbackRequested)
    opening = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 08:00 at UTC+2
    assert (request.dial_from, request.promised_by) == (opening, opening + timedelta(minutes=30))
    assert call.vars["callback_from"] == "25.11 08:00"
    assert call.heard == ["say[uk]: from 25.11 08:00, by 25.11 08:30"]


async def test_in_hours_the_usual_prompt_and_no_later_first_dial(env: Env) -> None:
    call = await env.run(callback(hours="operators", later_prompt=LATER))
    [request] = env.records
    assert isinstance(request, CallbackRequested) and request.dial_from is None
    assert call.heard == ["say[uk]: by 12:30, in 30 minutes"]


async def test_just_before_closing_the_promise_runs_into_the_next_opening(env: Env) -> None:
    env.clock.at = datetime(2026, 11, 24, 19, 50, tzinfo=UTC)  # 21:50: ten minutes left
    call = await env.run(callback(hours="operators", later_prompt=LATER))
    [request] = env.records
    assert isinstance(request, CallbackRequested) and request.dial_from is None  # dialled now
    assert request.promised_by == datetime(2026, 11, 25, 6, 20, tzinfo=UTC)
    assert call.heard == ["say[uk]: by 25.11 08:20, in 30 minutes"]


def test_hours_must_name_a_schedule() -> None:
    with pytest.raises(FlowError, match=r"nodes.cb.hours: unknown schedule 'nope'"):
        build_library(callback(hours="nope"))


async def test_an_identified_subscriber_gives_his_name(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    flow = {"i": {"type": "identify", "found": "cb", "not_found": "cb"}, **callback()}
    await env.run(flow)
    assert isinstance(env.records[0], CallbackRequested)
    assert env.records[0].name == "Іван Петренко"


async def test_the_phone_variable_wins_over_the_caller(env: Env) -> None:
    await env.run(callback({"other": "0501234567"}, phone="other"))
    assert isinstance(env.records[0], CallbackRequested)
    assert env.records[0].phone == "0501234567"


async def test_an_empty_phone_variable_falls_back_to_the_caller(env: Env) -> None:
    await env.run(callback(phone="other"))
    assert isinstance(env.records[0], CallbackRequested)
    assert env.records[0].phone == CALLER


@pytest.mark.parametrize(
    "caller", ["", "anonymous", "380441234567,Phone:380990000000", "38044\u20281234567", "1"]
)
async def test_a_withheld_or_invalid_number_goes_to_on_fail(env: Env, caller: str) -> None:
    call = await env.run(callback(), caller=caller)
    assert env.records == []
    assert call.path == ["cb:no_phone", "failed:hangup"]
    assert call.heard == []
    assert "callback_by" not in call.vars


async def test_a_phone_variable_that_is_no_number_goes_to_on_fail(env: Env) -> None:
    call = await env.run(callback({"other": "12,34"}, phone="other"))
    assert env.records == []
    assert call.path == ["cb:no_phone", "failed:hangup"]


async def test_a_withheld_number_uses_the_phone_variable(env: Env) -> None:
    await env.run(callback({"other": "0501234567"}, phone="other"), caller="")
    assert isinstance(env.records[0], CallbackRequested)
    assert env.records[0].phone == "0501234567"


async def test_a_withheld_number_without_on_fail_falls_back_to_an_operator(env: Env) -> None:
    flow = callback()
    del flow["cb"]["on_fail"]
    call = env.call(flow, caller="")
    with pytest.raises(FlowRunError, match="cb: no number to call back"):
        await run_flow(call.ctx)
    assert env.records == []


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"within": 0}, ("within",), "expected a number >= 1"),
        ({"within": "soon"}, ("within",), "expected a number >= 1"),
        ({"phone": "the phone"}, ("phone",), "expected a variable name (letters, digits, _)"),
        ({"queue": None}, ("queue",), "expected a name"),
        ({"class": ""}, ("class",), "expected a name"),
        ({"next": None}, ("next",), "expected a node id"),
        ({"prompt": 3}, ("prompt", 0), "expected a prompt name, {say: text} or {sound: file}"),
    ],
)
def test_check_rejects(spec: dict[str, Any], key: tuple[object, ...], message: str) -> None:
    node = {k: v for k, v in {**callback()["cb"], **spec}.items() if v is not None}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["callback"].check(node)
    assert (info.value.key, info.value.message) == (key, message)

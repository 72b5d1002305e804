"""identify: find the caller by the number he calls from or by an entered contract; a
recognised caller is never asked, nor looked up again."""

from typing import Any

import pytest

from ivr.flow.steps.base import FlowSpecError
from ivr.flow.steps.registry import STEP_TYPES

from .conftest import CALLER, END, IVAN, OLENA, Env


def identify(**spec: Any) -> dict[str, Any]:
    node = {"type": "identify", "found": "found", "not_found": "unknown", **spec}
    return {"i": node, "found": END, "unknown": END}


async def test_by_phone_finds_the_caller_and_exposes_his_data(env: Env) -> None:
    env.directory.subscribers += [OLENA, IVAN]
    call = await env.run(identify(by="phone"))
    assert call.ctx.subscriber == IVAN
    assert call.vars == {
        "contract": "12345678",
        "subscriber_name": "Іван Петренко",
        "subscriber_city": "Lviv",
        "region_office": "Lviv west",
    }
    assert call.path == ["i:found", "found:hangup"]
    assert env.directory.lookups == [("phone", CALLER)]
    assert call.asks == 0 and call.heard == []  # never asks anything


async def test_by_phone_is_the_default(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(identify())
    assert call.ended_at == "found"


async def test_by_phone_not_found(env: Env) -> None:
    env.directory.subscribers.append(OLENA)
    call = await env.run(identify(by="phone"))
    assert call.ctx.subscriber is None
    assert call.vars == {}
    assert call.path == ["i:not_found", "unknown:hangup"]
    assert call.asks == 0


async def test_withheld_number_is_not_looked_up(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(identify(by="phone"), caller="")
    assert call.ended_at == "unknown"
    assert env.directory.lookups == []


@pytest.mark.parametrize("caller", ["anonymous", "380441234567,Phone", "38044 1234567x"])
async def test_a_caller_id_that_is_not_a_number_is_not_looked_up(env: Env, caller: str) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(identify(by="phone"), caller=caller)
    assert call.ended_at == "unknown"
    assert env.directory.lookups == []


async def test_by_contract_reads_the_contract_variable(env: Env) -> None:
    env.directory.subscribers += [IVAN, OLENA]
    flow = {"s": {"type": "set", "vars": {"contract": "87654321"}, "next": "i"}}
    call = await env.run({**flow, **identify(by="contract")})
    assert call.ctx.subscriber == OLENA
    assert env.directory.lookups == [("contract", "87654321")]
    assert call.ended_at == "found"


async def test_by_contract_reads_the_variable_named_by_var(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    flow = {"s": {"type": "set", "vars": {"entered": "12345678"}, "next": "i"}}
    call = await env.run({**flow, **identify(by="contract", var="entered")})
    assert call.ctx.subscriber == IVAN
    assert call.vars["contract"] == "12345678"  # the account's contract, for later steps


async def test_by_contract_unknown(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    flow = {"s": {"type": "set", "vars": {"contract": "11111111"}, "next": "i"}}
    call = await env.run({**flow, **identify(by="contract")})
    assert call.ended_at == "unknown"
    assert call.ctx.subscriber is None


async def test_by_contract_with_nothing_entered_is_not_looked_up(env: Env) -> None:
    env.directory.subscribers.append(IVAN)
    call = await env.run(identify(by="contract"))
    assert call.ended_at == "unknown"
    assert env.directory.lookups == []


async def test_an_identified_caller_is_not_looked_up_again(env: Env) -> None:
    env.directory.subscribers += [IVAN, OLENA]
    flow = {
        "by_phone": {"type": "identify", "found": "s", "not_found": "s"},
        "s": {"type": "set", "vars": {"contract": OLENA.contract}, "next": "i"},
        **identify(by="contract"),
    }
    call = await env.run(flow)
    assert env.directory.lookups == [("phone", CALLER)]
    assert call.ctx.subscriber == IVAN
    assert call.path == ["by_phone:found", "i:found", "found:hangup"]


@pytest.mark.parametrize(
    ("spec", "key", "message", "at_key"),
    [
        ({"by": "email"}, ("by",), "expected one of ['phone', 'contract']", False),
        ({"var": "x"}, ("var",), "only identify by: contract reads a variable", True),
        (
            {"by": "phone", "var": "x"},
            ("var",),
            "only identify by: contract reads a variable",
            True,
        ),
        ({"found": None}, ("found",), "expected a node id", False),
        ({"not_found": ""}, ("not_found",), "expected a node id", False),
    ],
)
def test_check_rejects(
    spec: dict[str, Any], key: tuple[object, ...], message: str, at_key: bool
) -> None:
    node = {k: v for k, v in {**identify()["i"], **spec}.items() if v is not None}
    with pytest.raises(FlowSpecError) as info:
        STEP_TYPES["identify"].check(node)
    assert (info.value.key, info.value.message, info.value.at_key) == (key, message, at_key)

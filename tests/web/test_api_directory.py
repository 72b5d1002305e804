"""The API's lines, subscriber directory and outage board, on the real app and stores."""

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.web.kit import ADMIN, AGENT, SUPERVISOR, T0, Kit, auth

Client = TestClient[web.Request, web.Application]

SHEVCHENKO = {
    "contract": "10 000 001",
    "full_name": "Шевченко Тарас Григорович",
    "address": "вул. Хрещатик, 22, кв. 15",
    "city": "Київ",
    "region_office": "Печерський офіс",
    "phones": ["+38 (067) 111-22-33", "044 123 45 67"],
}


async def add(client: Client, body: dict[str, Any] = SHEVCHENKO) -> dict[str, Any]:
    response = await client.post("/api/subscribers", json=body, headers=auth(SUPERVISOR))
    assert response.status == 201, await response.text()
    subscriber: dict[str, Any] = (await response.json())["subscriber"]
    return subscriber


async def test_lines_are_public_and_come_from_the_flows(client: Client) -> None:
    response = await client.get("/api/lines")
    assert response.status == 200 and response.content_type == "application/json"
    lines = (await response.json())["lines"]
    assert {
        "number": "5552000",
        "sphere": "connections",
        "city": "Kyiv",
        "published": "advert",
        "flow": "connections",
        "language": "",
    } in lines
    assert any(line["number"] == "5552002" for line in lines)  # from lines.csv
    assert [line["number"] for line in lines] == sorted(line["number"] for line in lines)


async def test_a_supervisor_adds_a_subscriber_in_unicode(client: Client) -> None:
    card = await add(client)
    assert card == {
        "id": card["id"],
        "contract": "10000001",
        "full_name": "Шевченко Тарас Григорович",
        "address": "вул. Хрещатик, 22, кв. 15",
        "city": "Київ",
        "region_office": "Печерський офіс",
        "phones": ["380441234567", "380671112233"],
    }
    response = await client.get(f"/api/subscribers/{card['id']}", headers=auth(AGENT))
    assert response.status == 200 and (await response.json()) == {"subscriber": card}
    assert "Шевченко" in await response.text()  # UTF-8, not \u escapes


async def test_subscribers_are_found_by_phone_or_contract(client: Client) -> None:
    card = await add(client)
    other = await add(
        client, {"contract": "H-77", "full_name": "Kovács Éva", "phones": ["0671112233"]}
    )
    by_phone = await client.get(
        "/api/subscribers", params={"phone": "067 111 22 33"}, headers=auth(AGENT)
    )
    assert (await by_phone.json())["subscribers"] == [card, other]  # a shared phone
    by_contract = await client.get(
        "/api/subscribers", params={"contract": "H-77"}, headers=auth(AGENT)
    )
    assert (await by_contract.json())["subscribers"] == [other]
    nobody = await client.get("/api/subscribers", params={"phone": "999"}, headers=auth(AGENT))
    assert (await nobody.json()) == {"subscribers": []}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "phone, contract: expected one of them"),
        ({"phone": "1", "contract": "2"}, "phone, contract: expected one of them"),
        ({"phone": "  ", "contract": "2"}, "phone: must not be blank"),
    ],
)
async def test_a_search_needs_one_criterion(
    client: Client, params: dict[str, str], error: str
) -> None:
    response = await client.get("/api/subscribers", params=params, headers=auth(AGENT))
    assert response.status == 400 and await response.json() == {"error": error}


async def test_personal_data_needs_a_token(client: Client) -> None:
    card = await add(client)
    for path in ("/api/subscribers?contract=10000001", f"/api/subscribers/{card['id']}"):
        response = await client.get(path)
        assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert "bearer token" in (await response.json())["error"]
        wrong = await client.get(path, headers=auth("not-a-token-at-all"))
        assert wrong.status == 401
    assert "Шевченко" not in await (await client.get("/api/lines")).text()


async def test_only_supervisors_and_admins_add_subscribers(client: Client) -> None:
    body = {"contract": "1", "full_name": "Петренко"}
    denied = await client.post("/api/subscribers", json=body, headers=auth(AGENT))
    assert denied.status == 403 and (await denied.json()) == {"error": "role agent may not do this"}
    assert (await client.post("/api/subscribers", json=body)).status == 401
    allowed = await client.post("/api/subscribers", json=body, headers=auth(ADMIN))
    assert allowed.status == 201


async def test_a_taken_contract_is_a_conflict(client: Client) -> None:
    await add(client)
    again = await client.post(
        "/api/subscribers",
        json={"contract": "10000001", "full_name": "Інший"},
        headers=auth(ADMIN),
    )
    assert again.status == 409
    assert (await again.json()) == {"error": "contract: 10000001 belongs to another subscriber"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"full_name": "Петренко"}, "contract: required"),
        ({"contract": " ", "full_name": "Петренко"}, "contract: must not be blank"),
        ({"contract": "1", "full_name": 7}, "full_name: expected text"),
        ({"contract": "1", "full_name": "x" * 201}, "full_name: expected at most 200 characters"),
        ({"contract": "1", "full_name": "П", "phones": ["ні"]}, "phones: expected phone numbers"),
        ({"contract": "1", "full_name": "П", "phones": "0441234567"}, "phones: expected a list"),
        ({"contract": "1", "full_name": "П", "contarct": "2"}, "contarct: unknown field"),
    ],
)
async def test_a_bad_subscriber_is_refused_naming_the_field(
    client: Client, body: dict[str, Any], error: str
) -> None:
    response = await client.post("/api/subscribers", json=body, headers=auth(ADMIN))
    assert response.status == 400
    assert (await response.json())["error"].startswith(error)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("{not json", "body: expected a JSON object, got malformed JSON"),
        ("[1, 2]", "body: expected a JSON object, got list"),
        ("", "body: expected a JSON object, got nothing"),
        (b"\xff\xfe", "body: expected a JSON object, got malformed JSON"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    client: Client, data: str | bytes, error: str
) -> None:
    response = await client.post(
        "/api/subscribers",
        data=data,
        headers={**auth(ADMIN), "Content-Type": "application/json"},
    )
    assert response.status == 400 and (await response.json()) == {"error": error}


async def test_an_agent_reconciles_the_phones(client: Client, kit: Kit) -> None:
    card = await add(client)
    response = await client.post(
        f"/api/subscribers/{card['id']}/phones",
        json={"add": ["+38 050 555 44 33"], "remove": ["044 123 45 67"]},
        headers=auth(AGENT),
    )
    assert response.status == 200
    assert (await response.json())["subscriber"]["phones"] == ["380505554433", "380671112233"]
    assert kit.changed == [card["id"]]  # the screen pops showing him read him again
    found = await client.get(
        "/api/subscribers", params={"phone": "0505554433"}, headers=auth(AGENT)
    )
    assert [s["id"] for s in (await found.json())["subscribers"]] == [card["id"]]


async def test_reconciling_unknown_accounts_and_contradictions(client: Client) -> None:
    card = await add(client)
    both = await client.post(
        f"/api/subscribers/{card['id']}/phones",
        json={"add": ["0441234567"], "remove": ["+380441234567"]},
        headers=auth(AGENT),
    )
    assert both.status == 409 and "380441234567" in (await both.json())["error"]
    for path in ("/api/subscribers/999/phones", "/api/subscribers/99999999999/phones"):
        missing = await client.post(path, json={"add": ["1"]}, headers=auth(AGENT))
        assert missing.status == 404, path
    assert (await client.post(f"/api/subscribers/{card['id']}/phones", json={})).status == 401


async def test_unknown_subscribers_and_paths_are_json_404s(client: Client) -> None:
    for path in ("/api/subscribers/999", "/api/subscribers/0", "/api/subscribers/abc"):
        response = await client.get(path, headers=auth(AGENT))
        assert response.status == 404 and "error" in await response.json(), path
    wrong_method = await client.delete("/api/subscribers")
    assert wrong_method.status == 405 and "POST" in wrong_method.headers["Allow"]
    assert (await wrong_method.json()) == {"error": "method not allowed"}


async def test_a_posted_outage_is_what_the_menu_announces(kit: Kit, client: Client) -> None:
    restore = (T0 + timedelta(hours=3)).isoformat()
    response = await client.post(
        "/api/outages",
        json={
            "area": "Kyiv",
            "service": "internet",
            "message": "Пошкоджено магістраль",
            "expected_restore": restore,
        },
        headers=auth(SUPERVISOR),
    )
    assert response.status == 201
    outage = (await response.json())["outage"]
    assert outage == {
        "id": outage["id"],
        "area": "Kyiv",
        "service": "internet",
        "message": "Пошкоджено магістраль",
        "starts_at": "2026-11-24T09:00:00+00:00",
        "expected_restore": "2026-11-24T12:00:00+00:00",
        "ended_at": None,
        "active": True,
    }
    # What the flows' outage step asks for a caller on a Kyiv line:
    announced = await kit.directory.active_outage("KYIV", "internet", T0)
    assert announced is not None and announced.message == "Пошкоджено магістраль"

    board = await client.get("/api/outages", params={"active": "true"})  # public
    assert (await board.json())["outages"] == [outage]

    kit.clock.at = T0 + timedelta(hours=1)
    ended = await client.post(f"/api/outages/{outage['id']}/end", headers=auth(ADMIN))
    assert ended.status == 200
    assert (await ended.json())["outage"]["ended_at"] == "2026-11-24T10:00:00+00:00"
    assert await kit.directory.active_outage("Kyiv", "internet", kit.clock.at) is None
    assert (await (await client.get("/api/outages?active=true")).json())["outages"] == []
    past = await (await client.get("/api/outages?active=false")).json()
    assert [o["id"] for o in past["outages"]] == [outage["id"]]


async def test_a_future_outage_with_its_start_and_times_in_any_zone(client: Client) -> None:
    response = await client.post(
        "/api/outages",
        json={
            "area": "Debrecen",
            "message": "Tervezett karbantartás",
            "starts_at": "2026-11-25T08:00:00+01:00",
        },
        headers=auth(ADMIN),
    )
    outage = (await response.json())["outage"]
    assert outage["starts_at"] == "2026-11-25T07:00:00+00:00" and not outage["active"]
    assert outage["service"] == ""


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"message": "x"}, "area: required"),
        ({"area": "Kyiv", "message": "  "}, "message: must not be blank"),
        ({"area": "Kyiv", "message": "x", "starts_at": "2026-11-25T08:00:00"}, "starts_at: "),
        ({"area": "Kyiv", "message": "x", "expected_restore": "tomorrow"}, "expected_restore: "),
        ({"area": "Kyiv", "message": "x", "starts_at": "2026-02-30T08:00:00Z"}, "starts_at: no"),
    ],
)
async def test_a_bad_outage_is_refused(client: Client, body: dict[str, Any], error: str) -> None:
    response = await client.post("/api/outages", json=body, headers=auth(ADMIN))
    assert response.status == 400 and (await response.json())["error"].startswith(error)


async def test_outages_need_a_manager_and_a_known_id(client: Client) -> None:
    body = {"area": "Kyiv", "message": "x"}
    assert (await client.post("/api/outages", json=body, headers=auth(AGENT))).status == 403
    assert (await client.post("/api/outages/1/end")).status == 401
    assert (await client.post("/api/outages/1/end", headers=auth(AGENT))).status == 403
    assert (await client.post("/api/outages/1/end", headers=auth(ADMIN))).status == 404
    bad = await client.get("/api/outages", params={"active": "yes"})
    assert bad.status == 400
    assert (await bad.json()) == {"error": "active: expected one of true, false, got 'yes'"}

"""The API's desk: unreachable-number reports, appeals, complaints and technician requests,
callbacks; on the real app and stores."""

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.events.model import CallbackRequested
from ivr.storage.limits import ADDRESS, CALL_ID, LONG, PHONE, SHORT
from ivr.storage.reports import ReportWriter
from tests.web.kit import ADMIN, AGENT, AGENT_B, SUPERVISOR, T0, Kit, auth

Client = TestClient[web.Request, web.Application]

REPORT = {
    "reported_line": "0 800 50-50-50",
    "published": "рекламний щит",
    "dialled_from": "067 111 22 33",
    "problem": "ivr_sound",
    "contact_phone": "+380 67 999 88 77",
    "via_line": "5551000",
    "call_id": "1700000000.7",
    "details": "Меню мовчить після привітання",
}
APPEAL = {
    "city": "Nyíregyháza",
    "organisation": "Szabolcsi Rendőrkapitányság",
    "position": "főhadnagy",
    "full_name": "Szőke Ödön",
    "contact_phone": "+36 42 555 666",
    "purpose": "Megkeresés: előfizetői adatokat kér (nem adunk ki, továbbítjuk)",
    "line": "5551000",
    "agent": "1001",
}


async def subscriber(client: Client) -> dict[str, Any]:
    response = await client.post(
        "/api/subscribers",
        json={
            "contract": "10000001",
            "full_name": "Шевченко Тарас",
            "address": "вул. Хрещатик, 22",
            "phones": ["0671112233"],
        },
        headers=auth(ADMIN),
    )
    card: dict[str, Any] = (await response.json())["subscriber"]
    return card


async def post(client: Client, path: str, body: Any, token: str = AGENT) -> tuple[int, Any]:
    response = await client.post(path, json=body, headers=auth(token))
    return response.status, await response.json()


# --- unreachable-number reports ----------------------------------------------------------


async def test_an_operator_files_an_unreachable_report(client: Client) -> None:
    status, body = await post(client, "/api/reports/unreachable", REPORT)
    assert status == 201
    report = body["report"]
    assert report["source"] == "operator" and report["status"] == "new"
    assert report["reported_line"] == "0800505050" and report["problem"] == "ivr_sound"
    assert (report["dialled_from"], report["caller"]) == ("380671112233", "380679998877")
    assert report["details"] == "Меню мовчить після привітання"
    assert report["created_at"] == T0.isoformat()

    listed = await client.get("/api/reports/unreachable", headers=auth(SUPERVISOR))
    assert (await listed.json()) == {"reports": [report]}
    counts = await client.get("/api/reports/unreachable/by-line")  # public: counts only
    assert (await counts.json()) == {"lines": [{"line": "0800505050", "reports": 1}]}
    assert "380671112233" not in await counts.text()


async def test_a_report_for_a_known_subscriber_takes_his_data(client: Client) -> None:
    card = await subscriber(client)
    report = {k: v for k, v in REPORT.items() if k != "contact_phone"}
    status, body = await post(
        client,
        "/api/reports/unreachable",
        {**report, "subscriber_id": card["id"], "caller": "0671112233"},
    )
    assert status == 201
    assert body["report"]["contract"] == "10000001"
    assert body["report"]["full_name"] == "Шевченко Тарас"
    assert body["report"]["caller"] == "380671112233"


async def test_reports_are_filtered_by_line_and_time(kit: Kit, client: Client) -> None:
    for n, line in enumerate(["0800505050", "5553000", "0 800 505 050"]):
        kit.clock.at = T0 + timedelta(hours=n)
        status, _ = await post(
            client, "/api/reports/unreachable", {**REPORT, "reported_line": line}
        )
        assert status == 201
    headers = auth(AGENT)
    by_line = await client.get(
        "/api/reports/unreachable", params={"line": "0800 505050"}, headers=headers
    )
    assert len((await by_line.json())["reports"]) == 2
    window = await client.get(
        "/api/reports/unreachable",
        params={
            "since": "2026-11-24T11:00:00+01:00",
            "until": "2026-11-24T11:00:00Z",
            "limit": "5",
        },
        headers=headers,
    )
    assert [r["reported_line"] for r in (await window.json())["reports"]] == ["5553000"]
    counts = await client.get(
        "/api/reports/unreachable/by-line", params={"until": "2026-11-24T10:30:00Z"}
    )
    assert (await counts.json())["lines"] == [
        {"line": "0800505050", "reports": 1},
        {"line": "5553000", "reports": 1},
    ]


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"problem": "rude"}, 400, "problem: expected one of no_answer, no_operator"),
        ({"reported_line": "the other one"}, 400, "reported_line: expected the unreachable"),
        ({"dialled_from": "не пам'ятаю"}, 400, "dialled_from: expected a phone number"),
        ({"published": ""}, 400, "published: must not be blank"),
        ({"subscriber_id": 0}, 400, "subscriber_id: expected a whole number"),
        ({"subscriber_id": True}, 400, "subscriber_id: expected a whole number"),
        ({"subscriber_id": 4242}, 404, "subscriber_id: no subscriber 4242"),
        ({"contract": ""}, 400, "contract: must not be blank"),
        ({"source": "ivr"}, 400, "source: unknown field"),
    ],
)
async def test_a_bad_report_is_refused(
    client: Client, changes: dict[str, Any], status: int, error: str
) -> None:
    got, body = await post(client, "/api/reports/unreachable", {**REPORT, **changes})
    assert got == status and body["error"].startswith(error)
    listed = await client.get("/api/reports/unreachable", headers=auth(AGENT))
    assert (await listed.json()) == {"reports": []}


async def test_a_report_with_another_subscribers_contract_is_a_conflict(client: Client) -> None:
    card = await subscriber(client)
    status, body = await post(
        client, "/api/reports/unreachable", {**REPORT, "subscriber_id": card["id"], "contract": "5"}
    )
    assert status == 409 and body["error"].startswith("contract: 5 is not subscriber")


# --- appeals ------------------------------------------------------------------------------


async def test_an_appeal_is_filed_and_listed_by_time(kit: Kit, client: Client) -> None:
    status, body = await post(client, "/api/appeals", APPEAL)
    assert status == 201
    appeal = body["appeal"]
    assert appeal["organisation"] == "Szabolcsi Rendőrkapitányság"
    assert appeal["full_name"] == "Szőke Ödön" and appeal["contact_phone"] == "3642555666"
    assert (appeal["position"], appeal["agent"], appeal["call_id"]) == ("főhadnagy", "1001", None)
    kit.clock.at = T0 + timedelta(days=1)
    await post(client, "/api/appeals", {**APPEAL, "full_name": "Kiss Péter"}, SUPERVISOR)

    listed = await client.get("/api/appeals", headers=auth(AGENT))
    assert [a["full_name"] for a in (await listed.json())["appeals"]] == [
        "Kiss Péter",
        "Szőke Ödön",
    ]
    first_day = await client.get(
        "/api/appeals", params={"until": "2026-11-25T00:00:00Z"}, headers=auth(AGENT)
    )
    assert (await first_day.json())["appeals"] == [appeal]


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        ("/api/appeals", APPEAL, "appeal"),
        ("/api/requests", {"kind": "complaint", "text": "Panasz", "contact_phone": "1"}, "request"),
    ],
)
async def test_an_agent_files_as_himself_only(
    client: Client, path: str, body: dict[str, Any], kind: str
) -> None:
    status, reply = await post(client, path, {**body, "agent": "1002"}, AGENT)
    assert (status, reply) == (
        403,
        {"error": "agent: this token acts for agent 1001 only, not '1002'"},
    )
    unnamed = {k: v for k, v in body.items() if k != "agent"}
    status, reply = await post(client, path, unnamed, AGENT_B)
    assert status == 201 and reply[kind]["agent"] == "1002"  # his token names him
    status, reply = await post(client, path, {**body, "agent": "1002"}, SUPERVISOR)
    assert status == 201 and reply[kind]["agent"] == "1002"  # on an agent's behalf
    status, reply = await post(client, path, unnamed, ADMIN)
    assert status == 201 and reply[kind]["agent"] is None
    listed = await client.get(path, headers=auth(AGENT))  # every agent reads the desk's lists
    assert len((await listed.json())[f"{kind}s"]) == 3


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"organisation": " \t"}, "organisation: must not be blank"),
        ({"contact_phone": "nincs"}, "contact_phone: expected a phone number"),
        ({"purpose": "x" * 4001}, "purpose: expected at most 4000 characters"),
        ({"city": None}, "city: expected text"),
    ],
)
async def test_a_bad_appeal_is_refused(client: Client, changes: dict[str, Any], error: str) -> None:
    status, body = await post(client, "/api/appeals", {**APPEAL, **changes})
    assert status == 400 and body["error"].startswith(error)
    missing = {k: v for k, v in APPEAL.items() if k != "full_name"}
    assert (await post(client, "/api/appeals", missing))[1] == {"error": "full_name: required"}


async def test_desk_reads_need_a_token_and_bad_queries_are_refused(client: Client) -> None:
    for path in ("/api/appeals", "/api/requests", "/api/callbacks", "/api/reports/unreachable"):
        assert (await client.get(path)).status == 401, path
        assert (await client.post(path, json={})).status == 401, path
        limit = await client.get(path, params={"limit": "0"}, headers=auth(AGENT))
        assert limit.status == 400, path
        assert (await limit.json())["error"].startswith("limit: expected a whole number 1..1000")
    since = await client.get("/api/appeals", params={"since": "вчора"}, headers=auth(AGENT))
    assert (await since.json())["error"].startswith("since: expected a date-time with a time zone")
    kind = await client.get("/api/requests", params={"kind": "praise"}, headers=auth(AGENT))
    assert kind.status == 400
    status = await client.get("/api/callbacks", params={"status": "lost"}, headers=auth(AGENT))
    assert status.status == 400


# --- complaints and technician requests -------------------------------------------------


async def test_a_technician_request_for_a_subscriber(client: Client) -> None:
    card = await subscriber(client)
    status, body = await post(
        client,
        "/api/requests",
        {
            "kind": "technician",
            "text": "Обрив кабелю в під'їзді",
            "subscriber_id": card["id"],
            "agent": "1002",
        },
        AGENT_B,
    )
    assert status == 201
    request = body["request"]
    assert request["contract"] == "10000001" and request["address"] == "вул. Хрещатик, 22"
    assert request["kind"] == "technician" and request["status"] == "new"
    await post(
        client, "/api/requests", {"kind": "complaint", "text": "Panasz", "contact_phone": "1"}
    )

    mine = await client.get(
        "/api/requests", params={"subscriber_id": str(card["id"])}, headers=auth(AGENT)
    )
    assert (await mine.json())["requests"] == [request]
    complaints = await client.get(
        "/api/requests", params={"kind": "complaint"}, headers=auth(AGENT)
    )
    assert [r["text"] for r in (await complaints.json())["requests"]] == ["Panasz"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"kind": "complaint", "text": "x"}, 400, "contact_phone: required when neither"),
        ({"kind": "praise", "text": "x", "contact_phone": "1"}, 400, "kind: expected one of"),
        ({"kind": "complaint", "text": "", "contact_phone": "1"}, 400, "text: must not be blank"),
        ({"kind": "complaint", "text": "x", "subscriber_id": 77}, 404, "subscriber_id: no"),
    ],
)
async def test_a_bad_request_is_refused(
    client: Client, body: dict[str, Any], status: int, error: str
) -> None:
    got, reply = await post(client, "/api/requests", body)
    assert got == status and reply["error"].startswith(error)


async def test_a_request_with_another_subscribers_contract_is_a_conflict(client: Client) -> None:
    card = await subscriber(client)
    status, body = await post(
        client,
        "/api/requests",
        {"kind": "complaint", "text": "x", "subscriber_id": card["id"], "contract": "99"},
    )
    assert status == 409 and body["error"].startswith("contract: 99 is not subscriber")


# --- callbacks -------------------------------------------------------------------------------


async def test_a_callback_is_published_stored_and_listed(
    kit: Kit, client: Client, report_writer: ReportWriter
) -> None:
    status, body = await post(
        client,
        "/api/callbacks",
        {
            "phone": "067 111 22 33",
            "name": "Олена Петрівна",
            "queue": "internet",
            "caller_class": "existing_service",
            "line": "5551000",
        },
    )
    assert status == 202
    promised = (T0 + timedelta(seconds=1800)).isoformat()  # queues.yaml: promise 1800
    assert body == {
        "callback": {
            "status": "accepted",
            "phone": "380671112233",
            "name": "Олена Петрівна",
            "queue": "internet",
            "caller_class": "existing_service",
            "line": "5551000",
            "promised_by": promised,
            "language": "",  # the prompts' default
            "dial_from": None,  # in operator hours: dialled in its turn
        }
    }
    [event] = kit.published
    assert isinstance(event, CallbackRequested) and event.at == T0
    await report_writer.flush()
    listed = await client.get("/api/callbacks", params={"status": "open"}, headers=auth(AGENT))
    [stored] = (await listed.json())["callbacks"]
    assert (stored["phone"], stored["name"], stored["queue"]) == (
        "380671112233",
        "Олена Петрівна",
        "internet",
    )
    assert stored["promised_by"] == promised and stored["attempts"] == 0


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"queue": "nowhere"}, 404, "queue: no queue 'nowhere'"),
        ({"caller_class": "vip"}, 404, "caller_class: no class 'vip'"),
        ({"phone": "7"}, 400, "phone: expected 2 to 20 digits"),
        ({"phone": "1" * 21}, 400, "phone: expected 2 to 20 digits"),
        ({"name": ""}, 400, "name: must not be blank"),
        ({"promised_by": "2026-11-24 10:00"}, 400, "promised_by: expected a date-time"),
    ],
)
async def test_a_bad_callback_is_refused_and_not_published(
    kit: Kit, client: Client, changes: dict[str, Any], status: int, error: str
) -> None:
    body = {"phone": "0671112233", "name": "Олена", "queue": "internet", **changes}
    got, reply = await post(client, "/api/callbacks", body)
    assert got == status and reply["error"].startswith(error)
    assert kit.published == []


async def test_a_callback_with_its_own_promise(kit: Kit, client: Client) -> None:
    status, body = await post(
        client,
        "/api/callbacks",
        {
            "phone": "+36 30 123 4567",
            "name": "Tóth Anna",
            "queue": "internet",
            "promised_by": "2026-11-24T12:30:00+02:00",
        },
        SUPERVISOR,
    )
    assert status == 202 and body["callback"]["promised_by"] == "2026-11-24T10:30:00+00:00"
    assert body["callback"]["phone"] == "36301234567"


REQUEST = {"kind": "complaint", "text": "Немає інтернету з ранку", "contact_phone": "0671112233"}
CALLBACK = {"phone": "0671112233", "name": "Марія", "queue": "connections"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/reports/unreachable", REPORT),
        ("/api/appeals", APPEAL),
        ("/api/requests", REQUEST),
        ("/api/callbacks", CALLBACK),
    ],
)
async def test_every_text_field_is_bounded_at_the_edge(
    client: Client, path: str, body: dict[str, Any]
) -> None:
    """Each text field a filing takes, one character over its limit, is refused with a 400
    naming the field (so nothing longer reaches the writers); the call id is one of them."""
    limits = {
        "address": ADDRESS,
        "details": LONG,
        "purpose": LONG,
        "text": LONG,
        "call_id": CALL_ID,
        **{phone: PHONE for phone in ("contact_phone", "caller", "dialled_from", "phone")},
    }
    fields = [*body, "call_id"]
    for field in fields:
        if field in ("problem", "kind"):  # choices, not text
            continue
        limit = limits.get(field, SHORT)
        status, reply = await post(client, path, {**body, field: "7" * (limit + 1)})
        expected = f"{field}: expected at most {limit} characters, got {limit + 1}"
        assert (status, reply) == (400, {"error": expected}), field

"""The API's outage alerts on the real app and stores: listed for everyone (no personal
data), posted as an outage (the prefilled message, or an edit) or dismissed by managers
only; unknown is 404, already handled is 409."""

from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.storage.models import OutageAlertRecord
from ivr.storage.outage_alerts import AlertView
from tests.web.kit import AGENT, SUPERVISOR, T0, Kit, auth

Client = TestClient[web.Request, web.Application]


def raise_alert(kit: Kit, city: str = "Kyiv") -> AlertView:
    record = OutageAlertRecord(
        raised_at=T0 - timedelta(minutes=1),
        city=city,
        line="5551000",
        choice="menu:2",
        calls=14,
        usual=1.5,
        window=600.0,
        message="масові звернення, фахівці вже перевіряють мережу",
        language="uk",
    )
    return kit.outage_alerts.add(record)


async def alerts(client: Client, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/outage-alerts{query}")
    assert response.status == 200, await response.text()
    found: list[dict[str, Any]] = (await response.json())["alerts"]
    return found


async def test_open_alerts_are_listed_without_a_token(client: Client, kit: Kit) -> None:
    raised = raise_alert(kit)
    [shown] = await alerts(client, "?status=open")
    assert shown["id"] == raised.id
    assert (shown["city"], shown["line"], shown["choice"], shown["calls"]) == (
        "Kyiv",
        "5551000",
        "menu:2",
        14,
    )
    assert shown["status"] == "open" and shown["message"].startswith("масові")
    response = await client.get("/api/outage-alerts?status=gone")
    assert response.status == 400
    assert (await response.json())["error"].startswith("status: expected one of open")


async def test_posting_puts_the_prefilled_outage_on_the_board(client: Client, kit: Kit) -> None:
    raised = raise_alert(kit)
    url = f"/api/outage-alerts/{raised.id}/post"
    assert (await client.post(url, json={})).status == 401
    assert (await client.post(url, json={}, headers=auth(AGENT))).status == 403
    response = await client.post(url, json={}, headers=auth(SUPERVISOR))
    assert response.status == 201, await response.text()
    posted = (await response.json())["alert"]
    assert posted["status"] == "posted" and posted["handled_by"].startswith("supervisor")
    board = (await (await client.get("/api/outages?active=true")).json())["outages"]
    assert [(o["id"], o["area"], o["message"]) for o in board] == [
        (posted["outage_id"], "Kyiv", raised.message)
    ]
    assert await alerts(client, "?status=open") == []
    again = await client.post(url, json={}, headers=auth(SUPERVISOR))
    assert again.status == 409
    assert (await again.json())["error"] == f"outage alert {raised.id} is already posted"


async def test_the_supervisor_may_edit_the_message_and_service(client: Client, kit: Kit) -> None:
    raised = raise_alert(kit)
    body = {
        "message": "Обрив кабелю на Хрещатику",
        "service": "internet",
        "expected_restore": "2026-11-24T15:00:00+02:00",
    }
    url = f"/api/outage-alerts/{raised.id}/post"
    response = await client.post(url, json=body, headers=auth(SUPERVISOR))
    assert response.status == 201, await response.text()
    [outage] = (await (await client.get("/api/outages")).json())["outages"]
    assert (outage["message"], outage["service"]) == (body["message"], "internet")
    assert outage["expected_restore"] == "2026-11-24T13:00:00+00:00"


async def test_dismissed_alerts_leave_no_outage_and_bad_ids_are_clear(
    client: Client, kit: Kit
) -> None:
    raised = raise_alert(kit)
    url = f"/api/outage-alerts/{raised.id}/dismiss"
    response = await client.post(url, headers=auth(SUPERVISOR))
    assert response.status == 200 and (await response.json())["alert"]["status"] == "dismissed"
    assert (await (await client.get("/api/outages")).json())["outages"] == []
    again = await client.post(f"/api/outage-alerts/{raised.id}/post", headers=auth(SUPERVISOR))
    assert again.status == 409
    assert (await again.json())["error"] == f"outage alert {raised.id} is already dismissed"
    missing = await client.post("/api/outage-alerts/999/dismiss", headers=auth(SUPERVISOR))
    assert missing.status == 404
    assert (await missing.json())["error"] == "no such outage alert: 999"
    unknown = await client.post(
        f"/api/outage-alerts/{raise_alert(kit, 'Lviv').id}/post",
        json={"msg": "x"},
        headers=auth(SUPERVISOR),
    )
    assert unknown.status == 400

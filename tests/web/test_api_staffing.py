"""GET /api/staffing on the real stores (SQLite and PostgreSQL): today so far by default,
a window and a queue when asked, clear 400s for bad ones."""

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.unit.reports.seed import seed
from tests.web.kit import Kit

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def seeded(kit: Kit) -> Kit:
    await asyncio.to_thread(seed, kit.sessions)
    return kit


async def test_today_so_far_by_default(seeded: Kit, client: Client) -> None:
    # The clock: 2026-11-24 09:00 UTC, 11:00 in Kyiv (flows/calendar.yaml).
    response = await client.get("/api/staffing")  # public, like the service level
    assert response.status == 200
    body = await response.json()
    assert (body["since"], body["until"], body["timezone"]) == (
        "2026-11-23T22:00:00+00:00",
        "2026-11-24T10:00:00+00:00",  # the hour under way counts whole
        "Europe/Kyiv",
    )
    assert (body["queue"], body["goals"]) == (None, "80 % within 20 s")
    hours = body["hours"]
    assert [h["hour"][-5:] for h in hours] == [f"{n:02d}:00" for n in range(12)]
    assert hours[10] == {
        "hour": "2026-11-24T10:00",
        "offered": 5,
        "aht_seconds": pytest.approx((4 * (560 / 3 + 5) + 205) / 5),
        "erlangs": pytest.approx(0.27, abs=0.005),
        "needed": 2,
        "logged_in_average": 2.0,
        "logged_in_max": 2,
        "gap": 0.0,
    }
    assert (hours[11]["offered"], hours[11]["needed"], hours[11]["gap"]) == (1, 1, -1.0)
    assert all(h["offered"] == 0 and h["needed"] == 0 for h in hours[:10])


async def test_one_queue_in_a_window(seeded: Kit, client: Client) -> None:
    params = {
        "queue": "tv",
        "since": "2026-11-24T10:00:00+02:00",
        "until": "2026-11-24T12:00:00+02:00",
    }
    body = await (await client.get("/api/staffing", params=params)).json()
    assert [
        (h["hour"], h["offered"], h["needed"], h["logged_in_average"]) for h in body["hours"]
    ] == [
        ("2026-11-24T10:00", 1, 1, 1.0),  # agent 1002 (tv skill); 1001 has none
        ("2026-11-24T11:00", 1, 1, 1.0),
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"queue": "nope"}, "queue: expected one of connections, internet, tv, extra, senior, "
         "first_line, got 'nope'"),
        ({"since": "2026-11-24T10:00:00Z", "until": "2026-11-24T10:00:00Z"},
         "until: expected a time after since (2026-11-24T10:00:00+00:00)"),
        ({"since": "2026-10-01T00:00:00Z", "until": "2026-11-24T00:00:00Z"},
         "until: expected at most 31 days after since"),
        ({"since": "yesterday"}, "since: expected a date-time with a time zone"),
    ],
)  # fmt: skip
async def test_bad_windows_and_queues_are_400s(
    client: Client, params: dict[str, str], message: str
) -> None:
    response = await client.get("/api/staffing", params=params)
    assert response.status == 400
    assert (await response.json())["error"].startswith(message)

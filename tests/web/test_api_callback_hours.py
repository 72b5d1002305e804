"""POST /api/callbacks in the caller's language and inside operator hours (queues.yaml
callbacks.hours: operators, Mon-Sat 08:00-22:00 in Kyiv, as shipped)."""

from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.storage.reports import ReportWriter
from tests.web.kit import AGENT, Clock, Kit, auth

Client = TestClient[web.Request, web.Application]
BODY = {"phone": "0671112233", "name": "Олена", "queue": "internet"}


async def test_filed_at_night_it_is_dialled_from_the_opening_in_his_language(
    kit: Kit, client: Client, clock: Clock, report_writer: ReportWriter
) -> None:
    clock.at = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # Tuesday 23:00 in Kyiv
    response = await client.post(
        "/api/callbacks", json={**BODY, "language": "ru"}, headers=auth(AGENT)
    )
    assert response.status == 202, await response.text()
    filed = (await response.json())["callback"]
    opening = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # Wednesday 08:00 in Kyiv
    promised = opening + timedelta(seconds=1800)  # queues.yaml: promise 1800
    assert (filed["language"], filed["dial_from"], filed["promised_by"]) == (
        "ru",
        opening.isoformat(),
        promised.isoformat(),
    )
    await report_writer.flush()
    listed = await client.get("/api/callbacks", headers=auth(AGENT))
    [stored] = (await listed.json())["callbacks"]
    assert (stored["language"], stored["next_attempt_at"]) == ("ru", opening.isoformat())


async def test_a_language_the_prompts_do_not_have_is_refused(kit: Kit, client: Client) -> None:
    response = await client.post(
        "/api/callbacks", json={**BODY, "language": "hu"}, headers=auth(AGENT)
    )
    assert response.status == 404
    assert (await response.json())["error"] == "language: no language 'hu' (languages: uk, ru, en)"
    assert kit.published == []

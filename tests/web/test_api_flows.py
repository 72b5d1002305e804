"""Validating and reloading flows/ through the API (the real FlowReloader on a copy)."""

import asyncio
import os

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.web.kit import ADMIN, AGENT, SUPERVISOR, Kit, auth

Client = TestClient[web.Request, web.Application]


async def test_valid_flows_validate_and_reload(kit: Kit, client: Client) -> None:
    before = kit.reloader.library
    checked = await client.post("/api/flows/validate", headers=auth(SUPERVISOR))
    assert checked.status == 200
    body = await checked.json()
    assert body["ok"] is True and isinstance(body["problems"], list)

    reloaded = await client.post("/api/flows/reload", headers=auth(ADMIN))
    assert reloaded.status == 200
    assert (await reloaded.json())["ok"] is True
    assert kit.reloader.library is not before


async def test_broken_flows_are_reported_and_not_put_into_service(kit: Kit, client: Client) -> None:
    before = kit.reloader.library
    (kit.flows / "support.yaml").write_text(
        "name: support\nstart: nowhere\nnodes: {}\n", encoding="utf-8"
    )
    checked = await (await client.post("/api/flows/validate", headers=auth(ADMIN))).json()
    assert checked["ok"] is False
    assert any("support.yaml" in p for p in checked["problems"])

    reloaded = await client.post("/api/flows/reload", headers=auth(ADMIN))
    assert reloaded.status == 422
    body = await reloaded.json()
    assert body["ok"] is False and any("support.yaml" in p for p in body["problems"])
    assert kit.reloader.library is before  # the old flows keep serving


async def test_a_new_line_appears_after_a_reload(kit: Kit, client: Client) -> None:
    lines = kit.flows / "lines.yaml"
    lines.write_text(
        lines.read_text(encoding="utf-8")
        + '  - {number: "5559000", sphere: audit, city: Ужгород, published: листівка, '
        "flow: main}\n",
        encoding="utf-8",
    )
    assert (await client.post("/api/flows/reload", headers=auth(ADMIN))).status == 200
    listed = (await (await client.get("/api/lines")).json())["lines"]
    assert {
        "number": "5559000",
        "sphere": "audit",
        "city": "Ужгород",
        "published": "листівка",
        "flow": "main",
        "language": "",
    } in listed


async def test_flows_are_for_supervisors_and_admins(client: Client) -> None:
    for path in ("/api/flows/validate", "/api/flows/reload"):
        assert (await client.post(path)).status == 401
        assert (await client.post(path, headers=auth(AGENT))).status == 403


async def test_a_fifo_in_flows_is_rejected_at_once_and_a_later_fix_reloads(
    kit: Kit, client: Client
) -> None:
    before = kit.reloader.library
    pipe = kit.flows / "pipe.yaml"
    os.mkfifo(pipe)  # reading it once blocked the reload, and every later one, for ever
    reloaded = await asyncio.wait_for(client.post("/api/flows/reload", headers=auth(ADMIN)), 5)
    assert reloaded.status == 422
    assert (await reloaded.json())["problems"] == [
        f"{pipe}: refused: a named pipe (FIFO), not a regular file"
    ]
    assert kit.reloader.library is before
    pipe.unlink()
    reloaded = await asyncio.wait_for(client.post("/api/flows/reload", headers=auth(ADMIN)), 5)
    assert reloaded.status == 200 and kit.reloader.library is not before

"""The flow history through the API: reloads recorded with who asked, a version's diff, a
rollback that restores the files and serves them (the real FlowReloader on a copy)."""

from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.flow.snapshot import read_snapshot
from tests.web.kit import ADMIN, AGENT, SUPERVISOR, Kit, auth

Client = TestClient[web.Request, web.Application]


def edit(kit: Kit, old: str, new: str) -> None:
    support = kit.flows / "support.yaml"
    text = support.read_text(encoding="utf-8")
    assert old in text
    support.write_text(text.replace(old, new), encoding="utf-8")


async def history(client: Client) -> list[dict[str, object]]:
    response = await client.get("/api/flows/history", headers=auth(SUPERVISOR))
    assert response.status == 200
    versions: list[dict[str, object]] = (await response.json())["versions"]
    return versions


async def test_reload_history_diff_and_rollback(kit: Kit, client: Client) -> None:
    await kit.reloader.record_current()  # what the engine does once migrated
    original = read_snapshot(kit.flows)
    kit.clock.at += timedelta(minutes=1)
    edit(kit, '"2": tv', '"2": extra')
    assert (await client.post("/api/flows/reload", headers=auth(ADMIN))).status == 200
    assert (await client.post("/api/flows/reload", headers=auth(ADMIN))).status == 200  # same

    first, startup = await history(client)
    assert startup["who"] == "startup" and startup["changed"] == sorted(original)
    assert str(first["who"]).startswith("api admin sha256:")
    assert first["changed"] == ["support.yaml"]
    assert first["at"] == kit.clock.at.isoformat()

    shown = await client.get(f"/api/flows/history/{first['id']}", headers=auth(SUPERVISOR))
    diff = (await shown.json())["version"]["diff"]
    assert '-      "2": tv\n+      "2": extra\n' in diff and diff.startswith("--- a/support.yaml")

    rolled = await client.post(
        "/api/flows/rollback", json={"version": startup["id"]}, headers=auth(SUPERVISOR)
    )
    assert rolled.status == 200, await rolled.text()
    body = await rolled.json()
    assert body["ok"] and body["version"]["who"].startswith(
        f"rollback of {startup['id']} by supervisor sha256:"
    )
    assert read_snapshot(kit.flows) == original
    menu = kit.reloader.library.flows["support"].nodes["service_menu"].spec["options"]
    assert menu["2"] == "tv"  # new calls take the restored flow
    newest = (await history(client))[0]
    assert newest["id"] == body["version"]["id"]


async def test_unknown_and_unloadable_versions_are_clear_errors(kit: Kit, client: Client) -> None:
    missing = await client.get("/api/flows/history/99", headers=auth(ADMIN))
    assert missing.status == 404
    assert (await missing.json())["error"] == "id: no flow version 99 (see `ivr flow history`)"
    rolled = await client.post("/api/flows/rollback", json={"version": 99}, headers=auth(ADMIN))
    assert rolled.status == 404
    bad = await client.post("/api/flows/rollback", json={"version": "1"}, headers=auth(ADMIN))
    assert bad.status == 400
    empty = await client.post("/api/flows/rollback", json={}, headers=auth(ADMIN))
    assert empty.status == 400 and "version" in (await empty.json())["error"]

    # A version routing to a queue that queues.yaml no longer has: refused, nothing changed.
    kit.history.record(
        {
            **read_snapshot(kit.flows),
            "support.yaml": "name: support\nstart: x\n"
            "nodes: {x: {type: route, queue: gone, class: existing_service}}\n",
        },
        "file change",
        kit.clock.now(),
    )
    [old] = kit.history.recent(1)
    before, library = read_snapshot(kit.flows), kit.reloader.library
    refused = await client.post(
        "/api/flows/rollback", json={"version": old.id}, headers=auth(ADMIN)
    )
    assert refused.status == 422
    problems = (await refused.json())["problems"]
    assert any(p.startswith("support.yaml:3:") and "'gone'" in p for p in problems), problems
    assert read_snapshot(kit.flows) == before and kit.reloader.library is library


async def test_the_history_is_for_supervisors_and_admins(client: Client) -> None:
    for method, path in (
        ("GET", "/api/flows/history"),
        ("GET", "/api/flows/history/1"),
        ("POST", "/api/flows/rollback"),
    ):
        assert (await client.request(method, path)).status == 401
        assert (await client.request(method, path, headers=auth(AGENT))).status == 403

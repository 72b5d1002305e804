"""GET /api/calls/{call_id}/recording on the real app and stores (SQLite and PostgreSQL):
supervisors and admins only, the whole WAV or a byte range (206 with Content-Range), 404
for a call without one, a call id that is a path, or an unsatisfiable range; /api/calls
rows say which calls have a recording."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import CallEnded, CallStarted
from ivr.queues.model import RecordingPolicy
from ivr.sandbox.calls.sip.audio import tone, write_wav
from ivr.storage.journal import write_events
from ivr.storage.recordings import Recordings
from ivr.storage.repository import JournalRepository
from ivr.web import keys
from ivr.web.app import make_web_app
from tests.web.kit import ADMIN, AGENT, SUPERVISOR, T0, TOKENS, auth

RECORDED, PLAIN = "1733550000.7", "1733550000.8"


@pytest.fixture
async def client(
    sessions: sessionmaker[Session], tmp_path: Path
) -> AsyncIterator[tuple[TestClient[Any, Any], bytes]]:
    directory = tmp_path / "recordings"
    directory.mkdir()
    body = write_wav(directory / f"{RECORDED}.wav", tone(880, 1.0)).read_bytes()
    (tmp_path / "secret.wav").write_bytes(b"not yours")
    policy = RecordingPolicy(str(directory))
    recordings = Recordings(lambda: directory, lambda: policy)
    events = [
        event
        for call in (RECORDED, PLAIN)
        for event in (
            CallStarted(call, "5551000", "380671112233", "PJSIP/t-1", T0),
            CallEnded(call, "16", T0),
        )
    ]
    await asyncio.to_thread(write_events, sessions, events)
    app = make_web_app()
    app[keys.HEALTH] = lambda: {"ok": True}
    app[keys.JOURNAL] = JournalRepository(sessions)
    app[keys.TOKENS] = TOKENS
    app[keys.RECORDINGS] = recordings
    app[keys.RECORDED] = recordings.recorded
    async with TestClient(TestServer(app)) as test_client:
        yield test_client, body


def url(call_id: str) -> str:
    return f"/api/calls/{call_id}/recording"


async def test_only_supervisors_and_admins_get_a_recording(
    client: tuple[TestClient[web.Request, web.Application], bytes],
) -> None:
    http, _ = client
    response = await http.get(url(RECORDED))
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert (await http.get(url(RECORDED), headers=auth("not-a-token"))).status == 401
    response = await http.get(url(RECORDED), headers=auth(AGENT))
    assert response.status == 403
    assert (await response.json())["error"] == "role agent may not do this"
    for token in (SUPERVISOR, ADMIN):
        assert (await http.get(url(RECORDED), headers=auth(token))).status == 200


async def test_the_whole_recording_then_byte_ranges(
    client: tuple[TestClient[web.Request, web.Application], bytes],
) -> None:
    http, body = client
    response = await http.get(url(RECORDED), headers=auth(SUPERVISOR))
    assert response.status == 200
    assert await response.read() == body
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{RECORDED}.wav"'
    size = len(body)
    ranges = (("0-43", 0, 43), ("100-", 100, size - 1), ("-50", size - 50, size - 1))
    for asked, start, end in ranges:
        response = await http.get(url(RECORDED), headers={**auth(ADMIN), "Range": f"bytes={asked}"})
        assert response.status == 206, asked
        assert response.headers["Content-Range"] == f"bytes {start}-{end}/{size}", asked
        assert await response.read() == body[start : end + 1], asked
    beyond = {**auth(ADMIN), "Range": f"bytes={size + 10}-"}
    assert (await http.get(url(RECORDED), headers=beyond)).status == 416


async def test_no_recording_is_404_and_a_call_id_is_never_a_path(
    client: tuple[TestClient[web.Request, web.Application], bytes],
) -> None:
    http, _ = client
    for call_id in (PLAIN, "nobody", "..%2Fsecret", "%2E%2E", ".hidden"):
        response = await http.get(url(call_id), headers=auth(SUPERVISOR))
        assert response.status == 404, call_id
        error = (await response.json())["error"]
        assert error in ("call_id: no recording of this call", "not found"), call_id
    response = await http.get("/api/calls/../secret/recording", headers=auth(SUPERVISOR))
    assert response.status == 404


async def test_call_rows_say_which_calls_have_a_recording(
    client: tuple[TestClient[web.Request, web.Application], bytes],
) -> None:
    http, _ = client
    response = await http.get("/api/calls", headers=auth(AGENT))
    assert response.status == 200
    rows = {row["call_id"]: row["recording"] for row in (await response.json())["calls"]}
    assert rows == {RECORDED: True, PLAIN: False}

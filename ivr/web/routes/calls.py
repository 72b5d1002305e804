"""The call journal and the calls' recordings; supervisors on live calls
(ivr.monitors.supervise), supervisors and admins only:

- GET /api/calls[?limit=]: the journal, newest first; each row says if it has a recording;
- GET /api/calls/{call_id}/recording: the recording (personal data), streamed from disk with
  HTTP Range (206 Partial Content), so a player can seek; 404 when the call has none (not
  recorded, expired, or no such call);
- POST /api/calls/{call_id}/monitor {"mode": "listen"|"whisper"|"barge", "phone": "9001"}:
  ring that phone into the call; 202 with the logged use. 404: no such live call or phone;
  409: the call is not with an agent, the phone is unavailable or busy;
- GET /api/monitoring[?call_id=&limit=]: the supervision log, newest first.
"""

import asyncio
from dataclasses import asdict
from typing import Any

from aiohttp import web

from ivr.monitors.supervise import MODES, MonitorRefused, Request
from ivr.storage.desk import MAX_LIMIT
from ivr.storage.limits import CALL_ID, SHORT
from ivr.web.input import query_int, query_text, read_body
from ivr.web.keys import (
    JOURNAL,
    PRINCIPAL,
    RECORDED,
    RECORDINGS,
    STORAGE,
    SUPERVISION,
    SUPERVISION_LOG,
)
from ivr.web.reply import error, reply
from ivr.web.route import ANY_ROLE, MANAGERS, Route

MONITOR_FIELDS = ("mode", "phone")
RECORDING_HEADERS = {
    "Content-Type": "audio/wav",
    "Cache-Control": "no-store",  # personal data: no copy in shared caches
    "X-Content-Type-Options": "nosniff",
}


async def get_calls(request: web.Request) -> web.StreamResponse:
    limit = query_int(request, "limit", 50, 1, 1000)
    journal, recorded = request.app[JOURNAL], request.app[RECORDED]

    def read() -> list[dict[str, Any]]:
        rows = [asdict(row) for row in journal.recent(limit)]
        have = recorded([row["call_id"] for row in rows])
        return [{**row, "recording": row["call_id"] in have} for row in rows]

    return reply({"calls": await asyncio.to_thread(read)})


async def get_recording(request: web.Request) -> web.StreamResponse:
    call_id = request.match_info["call_id"]
    path = await asyncio.to_thread(request.app[RECORDINGS].find, call_id)
    if path is None:
        raise error(404, "call_id: no recording of this call")
    headers = {**RECORDING_HEADERS, "Content-Disposition": f'attachment; filename="{path.name}"'}
    return web.FileResponse(path, headers=headers)


async def monitor_call(request: web.Request) -> web.StreamResponse:
    call_id = request.match_info["call_id"]
    body = await read_body(request, MONITOR_FIELDS)
    mode = body.choice("mode", MODES)
    phone = body.text("phone", SHORT, required=True)
    asked = Request(call_id[:CALL_ID], mode, phone, request[PRINCIPAL].who())
    storage, log = request.app[STORAGE], request.app[SUPERVISION_LOG]
    try:
        use = await request.app[SUPERVISION].start(asked, lambda **row: storage.run(log.add, **row))
    except MonitorRefused as exc:
        return reply({"error": str(exc)}, exc.status)
    return reply({"monitor": asdict(use)}, 202)


async def list_monitoring(request: web.Request) -> web.StreamResponse:
    call_id = query_text(request, "call_id", CALL_ID) or ""
    limit = query_int(request, "limit", 100, 1, MAX_LIMIT)
    uses = await request.app[STORAGE].run(request.app[SUPERVISION_LOG].recent, call_id, limit)
    return reply({"monitoring": [asdict(use) for use in uses]})


ROUTES = (
    Route("GET", "/api/calls", get_calls, ANY_ROLE),
    Route("GET", "/api/calls/{call_id}/recording", get_recording, MANAGERS),
    Route("POST", "/api/calls/{call_id}/monitor", monitor_call, MANAGERS),
    Route("GET", "/api/monitoring", list_monitoring, MANAGERS),
)

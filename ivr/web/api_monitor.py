"""API routes for supervisors on live calls (ivr.monitors.supervise), supervisors and
admins only:

- POST /api/calls/{call_id}/monitor {"mode": "listen"|"whisper"|"barge", "phone": "9001"}:
  ring that phone into the call; 202 with the logged use. 404: no such live call or phone;
  409: the call is not with an agent, the phone is unavailable or busy.
- GET /api/monitoring[?call_id=&limit=]: the supervision log, newest first.
"""

from dataclasses import asdict

from aiohttp import web

from ivr.monitors.supervise import MODES, MonitorRefused, Request, Supervision
from ivr.storage.desk import MAX_LIMIT
from ivr.storage.gate import StorageGate
from ivr.storage.limits import CALL_ID, SHORT
from ivr.storage.supervision import SupervisionLog
from ivr.web.api_deps import MANAGERS
from ivr.web.api_input import query_int, query_text, read_body
from ivr.web.app import Reply
from ivr.web.auth import PRINCIPAL, require
from ivr.web.tokens import TokenBook

MONITOR_FIELDS = ("mode", "phone")


def add_monitor_routes(
    app: web.Application,
    reply: Reply,
    tokens: TokenBook,
    supervision: Supervision,
    log: SupervisionLog,
    storage: StorageGate,
) -> None:
    managers = require(tokens, *MANAGERS)

    @managers
    async def monitor_call(request: web.Request) -> web.StreamResponse:
        call_id = request.match_info["call_id"]
        body = await read_body(request, MONITOR_FIELDS)
        mode = body.choice("mode", MODES)
        phone = body.text("phone", SHORT, required=True)
        asked = Request(call_id[:CALL_ID], mode, phone, request[PRINCIPAL].who())
        try:
            use = await supervision.start(asked, lambda **row: storage.run(log.add, **row))
        except MonitorRefused as exc:
            return reply({"error": str(exc)}, exc.status)
        return reply({"monitor": asdict(use)}, 202)

    @managers
    async def list_monitoring(request: web.Request) -> web.StreamResponse:
        call_id = query_text(request, "call_id", CALL_ID) or ""
        limit = query_int(request, "limit", 100, 1, MAX_LIMIT)
        uses = await storage.run(log.recent, call_id, limit)
        return reply({"monitoring": [asdict(use) for use in uses]})

    app.router.add_post("/api/calls/{call_id}/monitor", monitor_call)
    app.router.add_get("/api/monitoring", list_monitoring)

"""GET /api/calls/{call_id}/recording: a call's recording, to supervisors and admins only
(it is personal data). Streamed from disk with HTTP Range (206 Partial Content), so a
player can seek; 404 when the call has none (not recorded, expired, or no such call)."""

import asyncio
import json

from aiohttp import web

from ivr.recordings import Recordings
from ivr.web.api_deps import MANAGERS
from ivr.web.auth import require
from ivr.web.tokens import TokenBook

HEADERS = {
    "Content-Type": "audio/wav",
    "Cache-Control": "no-store",  # personal data: no copy in shared caches
    "X-Content-Type-Options": "nosniff",
}


def add_recording_routes(app: web.Application, recordings: Recordings, tokens: TokenBook) -> None:
    @require(tokens, *MANAGERS)
    async def get_recording(request: web.Request) -> web.StreamResponse:
        call_id = request.match_info["call_id"]
        path = await asyncio.to_thread(recordings.find, call_id)
        if path is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "call_id: no recording of this call"}),
                content_type="application/json",
            )
        headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{path.name}"'}
        return web.FileResponse(path, headers=headers)

    app.router.add_get("/api/calls/{call_id}/recording", get_recording)

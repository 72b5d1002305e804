"""GET /api/staffing: per hour, the agents Erlang C says were needed against those logged
in (ivr.reports.staffing); by default today so far, local to the flows calendar."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ivr.reports.staffing import StaffingRow, goals_label, staffing_rows
from ivr.web.input import bounded_window, query_time
from ivr.web.keys import FLOWS, NOW, QUEUES, STAFFING
from ivr.web.live.kpis import today
from ivr.web.reply import bad, reply
from ivr.web.route import PUBLIC, Route


def _row(row: StaffingRow) -> dict[str, Any]:
    return {
        "hour": row.hour,
        "offered": row.offered,
        "aht_seconds": row.handle_seconds,
        "erlangs": round(row.erlangs, 3),
        "needed": row.needed,
        "logged_in_average": round(row.logged_in_average, 2),
        "logged_in_max": row.logged_in_max,
        "gap": None if row.gap is None else round(row.gap, 2),
    }


def _next_hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def get_staffing(request: web.Request) -> web.Response:
    config = request.app[QUEUES]()
    queue = request.query.get("queue")
    if queue is not None and queue not in config.queues:
        raise bad("queue", f"expected one of {', '.join(config.queues)}, got {queue!r}")
    tz = request.app[FLOWS].library.calendar.timezone
    now = request.app[NOW]()
    since = query_time(request, "since") or today(now, tz)
    until = query_time(request, "until") or _next_hour(now)  # the hour under way, whole
    bounded_window(since, until)
    agents = None if queue is None else [a.id for a in config.agents.values() if queue in a.skills]
    hours = await asyncio.to_thread(request.app[STAFFING].hours, since, until, tz, queue, agents)
    return reply(
        {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "timezone": str(tz),
            "queue": queue,
            "goals": goals_label(config, queue),
            "hours": [_row(row) for row in staffing_rows(hours, config)],
        }
    )


ROUTES = (Route("GET", "/api/staffing", get_staffing, PUBLIC),)

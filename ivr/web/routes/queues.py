"""Routes for the queues: each queue now (who waits, its agents), the service level per
queue, per line or overall, and how good the predicted wait was."""

import asyncio
from dataclasses import asdict

from aiohttp import web

from ivr.storage.prediction import PredictionQuality
from ivr.web.input import bounded_window, query_choice, query_int, query_time
from ivr.web.keys import FLOWS, LIVE_QUEUES, NOW, PREDICTION, SERVICE_LEVEL
from ivr.web.live.kpis import today
from ivr.web.reply import reply
from ivr.web.route import PUBLIC, Route


async def get_queues(request: web.Request) -> web.Response:
    return reply(request.app[LIVE_QUEUES]())


async def get_service_level(request: web.Request) -> web.Response:
    by = query_choice(request, "by", ("queue", "line", "all")) or "queue"
    since, until = query_time(request, "since"), query_time(request, "until")
    service_level = request.app[SERVICE_LEVEL]
    if by == "queue":
        rows = await asyncio.to_thread(service_level.by_queue, since, until)
    elif by == "line":
        rows = await asyncio.to_thread(service_level.by_line, since, until)
    else:
        rows = [await asyncio.to_thread(service_level.overall, since, until)]
    return reply({"by": by, "service_level": [asdict(row) for row in rows]})


def _quality(quality: PredictionQuality) -> dict[str, object]:
    return {
        "queue": quality.key,
        "calls": quality.calls,
        "mean_absolute_error": quality.mean_absolute_error,
        "mean_error": quality.mean_error,
        "within": quality.within,
        "share_within": quality.share_within,
    }


async def get_prediction(request: web.Request) -> web.Response:
    """How good the wait predicted at the join was, per queue and overall; by default
    today (since local midnight in the flows calendar's time zone)."""
    tz = request.app[FLOWS].library.calendar.timezone
    since = query_time(request, "since") or today(request.app[NOW](), tz)
    until = query_time(request, "until")
    bounded_window(since, until or request.app[NOW]())
    within = query_int(request, "within", 30, 1, 3600)
    repository = request.app[PREDICTION]
    queues, overall = await asyncio.to_thread(repository.quality, since, until, within)
    return reply(
        {
            "since": since.isoformat(),
            "until": until.isoformat() if until else None,
            "within": within,
            "queues": [_quality(q) for q in queues],
            "overall": _quality(overall),
        }
    )


ROUTES = (
    Route("GET", "/api/queues", get_queues, PUBLIC),
    Route("GET", "/api/service-level", get_service_level, PUBLIC),
    Route("GET", "/api/prediction", get_prediction, PUBLIC),
)

"""Routes for the outage alerts (suspected mass outages): list them, post one as an outage
on the board (its prefilled message, or the supervisor's edit) or dismiss it."""

from dataclasses import asdict

from aiohttp import web

from ivr.storage.limits import LONG
from ivr.storage.outage_alerts import STATUSES, AlertHandled
from ivr.web.input import Body, path_id, query_choice, query_int, read_body
from ivr.web.keys import NOW, OUTAGE_ALERTS, PRINCIPAL, STORAGE
from ivr.web.reply import error, reply
from ivr.web.route import MANAGERS, PUBLIC, Route

POST_FIELDS = ("message", "service", "expected_restore")


async def list_alerts(request: web.Request) -> web.Response:
    status = query_choice(request, "status", STATUSES)
    limit = query_int(request, "limit", 100, 1, 1000)
    found = await request.app[STORAGE].run(request.app[OUTAGE_ALERTS].alerts, status, limit)
    return reply({"alerts": [asdict(a) for a in found]})


async def post_alert(request: web.Request) -> web.StreamResponse:
    alert_id = path_id(request, "outage alert")
    # no body: the alert as prefilled (one click)
    body = await read_body(request, POST_FIELDS) if request.body_exists else Body({}, ())
    message = body.text("message", LONG) or None
    service, restore = body.text("service"), body.time("expected_restore")
    store, now = request.app[OUTAGE_ALERTS], request.app[NOW]()
    try:
        posted = await request.app[STORAGE].run(
            store.post,
            alert_id,
            by=request[PRINCIPAL].who(),
            at=now,
            message=message,
            service=service,
            expected_restore=restore,
        )
    except LookupError:
        raise error(404, f"no such outage alert: {alert_id}") from None
    except AlertHandled as exc:
        raise error(409, str(exc)) from None
    return reply({"alert": asdict(posted)}, 201)


async def dismiss_alert(request: web.Request) -> web.StreamResponse:
    alert_id = path_id(request, "outage alert")
    store, now = request.app[OUTAGE_ALERTS], request.app[NOW]()
    try:
        dismissed = await request.app[STORAGE].run(
            store.dismiss, alert_id, by=request[PRINCIPAL].who(), at=now
        )
    except LookupError:
        raise error(404, f"no such outage alert: {alert_id}") from None
    except AlertHandled as exc:
        raise error(409, str(exc)) from None
    return reply({"alert": asdict(dismissed)})


ROUTES = (
    Route("GET", "/api/outage-alerts", list_alerts, PUBLIC),
    Route("POST", r"/api/outage-alerts/{id:[0-9]+}/post", post_alert, MANAGERS),
    Route("POST", r"/api/outage-alerts/{id:[0-9]+}/dismiss", dismiss_alert, MANAGERS),
)

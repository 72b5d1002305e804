"""Routes for what operators file during calls: unreachable-number reports, appeals,
complaints and technician requests, callback requests."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web

from ivr.events.model import CallbackRequested, UnreachableReported
from ivr.flow.callback_window import CallbackWindow, promise_window
from ivr.storage.callbacks import STATUSES
from ivr.storage.desk import KINDS, MAX_LIMIT, PROBLEMS, Conflict
from ivr.storage.directory import normalise_phone
from ivr.storage.limits import ADDRESS, CALL_ID, LONG
from ivr.web.auth import filed_by_agent
from ivr.web.input import (
    Body,
    query_choice,
    query_id,
    query_int,
    query_text,
    query_time,
    read_body,
)
from ivr.web.keys import DESK, FLOWS, NOW, PUBLISH, QUEUES, REPORTS, STORAGE
from ivr.web.reply import bad, error, reply
from ivr.web.route import ANY_ROLE, PUBLIC, Route

T = TypeVar("T")

REPORT_FIELDS = (
    "reported_line",
    "published",
    "dialled_from",
    "problem",
    "call_id",
    "via_line",
    "caller",
    "contact_phone",
    "subscriber_id",
    "contract",
    "full_name",
    "address",
    "details",
)
APPEAL_FIELDS = (
    "city",
    "organisation",
    "position",
    "full_name",
    "contact_phone",
    "purpose",
    "call_id",
    "line",
    "agent",
)
REQUEST_FIELDS = (
    "kind",
    "text",
    "subscriber_id",
    "contract",
    "full_name",
    "address",
    "contact_phone",
    "call_id",
    "line",
    "agent",
)
CALLBACK_FIELDS = (
    *("phone", "name", "queue", "caller_class", "line", "promised_by", "call_id"),
    "language",
)
CALLBACK_DIGITS = (2, 20)  # what the callback dialer will dial


async def stored(request: web.Request, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking store call on the API's storage gate; its refusals become
    400/404/409 (a database that does not answer: 503, see ivr.web.middleware)."""
    try:
        return await request.app[STORAGE].run(call, *args, **kwargs)
    except Conflict as exc:
        raise error(409, str(exc)) from None
    except LookupError as exc:
        raise error(404, str(exc)) from None
    except ValueError as exc:
        raise error(400, str(exc)) from None


def _limit(request: web.Request) -> int:
    return query_int(request, "limit", 100, 1, MAX_LIMIT)


def _filed_by(request: web.Request, body: Body) -> dict[str, str]:
    """Where a filing comes from: the call, the line it came in on, the agent (an agent's
    token files as its own agent)."""
    agent = filed_by_agent(request, body.text("agent"))
    return {"call_id": body.text("call_id", CALL_ID), "line": body.text("line"), "agent": agent}


async def list_reports(request: web.Request) -> web.StreamResponse:
    line = query_text(request, "line")
    since, until = query_time(request, "since"), query_time(request, "until")
    views = await stored(
        request, request.app[REPORTS].unreachable_reports, line, since, until, _limit(request)
    )
    return reply({"reports": [asdict(v) for v in views]})


async def reports_by_line(request: web.Request) -> web.Response:
    since, until = query_time(request, "since"), query_time(request, "until")
    counts = await stored(request, request.app[REPORTS].unreachable_by_line, since, until)
    return reply({"lines": [{"line": line, "reports": n} for line, n in counts]})


async def file_report(request: web.Request) -> web.StreamResponse:
    body = await read_body(request, REPORT_FIELDS)
    contact, caller = body.phone("contact_phone"), body.phone("caller")
    event = UnreachableReported(
        call_id=body.text("call_id", CALL_ID),
        reported_line=body.text("reported_line", required=True),
        via_line=body.text("via_line"),
        published=body.text("published", required=True),
        dialled_from=body.phone("dialled_from", required=True),
        problem=body.choice("problem", PROBLEMS),
        caller=contact or caller,
        subscriber_id=body.integer("subscriber_id"),
        contract=body.word("contract") or "",
        full_name=body.text("full_name"),
        address=body.text("address", ADDRESS),
        details=body.text("details", LONG),
        source="operator",
        at=request.app[NOW](),
    )
    view = await stored(request, request.app[DESK].add_unreachable, event)
    return reply({"report": asdict(view)}, 201)


async def list_appeals(request: web.Request) -> web.StreamResponse:
    since, until = query_time(request, "since"), query_time(request, "until")
    views = await stored(request, request.app[DESK].appeals, since, until, _limit(request))
    return reply({"appeals": [asdict(v) for v in views]})


async def file_appeal(request: web.Request) -> web.StreamResponse:
    body = await read_body(request, APPEAL_FIELDS)
    view = await stored(
        request,
        request.app[DESK].add_appeal,
        city=body.text("city", required=True),
        organisation=body.text("organisation", required=True),
        position=body.text("position"),
        full_name=body.text("full_name", required=True),
        contact_phone=body.phone("contact_phone", required=True),
        purpose=body.text("purpose", LONG, required=True),
        at=request.app[NOW](),
        **_filed_by(request, body),
    )
    return reply({"appeal": asdict(view)}, 201)


async def list_requests(request: web.Request) -> web.StreamResponse:
    kind = query_choice(request, "kind", KINDS)
    subscriber_id = query_id(request, "subscriber_id")
    views = await stored(request, request.app[DESK].requests, kind, subscriber_id, _limit(request))
    return reply({"requests": [asdict(v) for v in views]})


async def file_request(request: web.Request) -> web.StreamResponse:
    body = await read_body(request, REQUEST_FIELDS)
    view = await stored(
        request,
        request.app[DESK].add_request,
        body.choice("kind", KINDS),
        body.text("text", LONG, required=True),
        subscriber_id=body.integer("subscriber_id"),
        contract=body.word("contract") or "",
        full_name=body.text("full_name"),
        address=body.text("address", ADDRESS),
        contact_phone=body.phone("contact_phone"),
        at=request.app[NOW](),
        **_filed_by(request, body),
    )
    return reply({"request": asdict(view)}, 201)


async def list_callbacks(request: web.Request) -> web.StreamResponse:
    status = query_choice(request, "status", STATUSES)
    views = await stored(request, request.app[REPORTS].callbacks, status, _limit(request))
    return reply({"callbacks": [asdict(v) for v in views]})


async def request_callback(request: web.Request) -> web.StreamResponse:
    body = await read_body(request, CALLBACK_FIELDS)
    given = body.phone("phone", required=True)
    low, high = CALLBACK_DIGITS
    if not low <= len(normalise_phone(given)) <= high:
        raise bad("phone", f"expected {low} to {high} digits, got {given!r}")
    name, queue = body.text("name", required=True), body.text("queue", required=True)
    caller_class, line = body.text("caller_class"), body.text("line")
    promised_by, call_id = body.time("promised_by"), body.text("call_id", CALL_ID)
    config = request.app[QUEUES]()
    if queue not in config.queues:
        known = ", ".join(sorted(config.queues))
        raise error(404, f"queue: no queue {queue!r} (queues: {known})")
    if caller_class and caller_class not in config.caller_classes:
        known = ", ".join(sorted(config.caller_classes))
        raise error(404, f"caller_class: no class {caller_class!r} (classes: {known})")
    now = request.app[NOW]()
    language, window = _language(request, body.text("language")), _window(request, now)
    event = CallbackRequested(
        call_id=call_id,
        line=line,
        phone=request.app[DESK].required_phone("phone", given),  # checked above: it has digits
        name=name,
        queue=queue,
        caller_class=caller_class,
        promised_by=promised_by or window.promised_by,
        at=now,
        language=language,
        dial_from=window.opens_at,
    )
    request.app[PUBLISH](event)
    fields = ("phone", "name", "queue", "caller_class", "line", "promised_by", "language")
    view = {"status": "accepted", **{k: getattr(event, k) for k in fields}}
    return reply({"callback": view | {"dial_from": event.dial_from}}, 202)


def _language(request: web.Request, language: str) -> str:
    """The caller's language: one of prompts.yaml's ("": the default)."""
    known = request.app[FLOWS].library.prompts.languages
    if language and language not in known:
        raise error(404, f"language: no language {language!r} (languages: {', '.join(known)})")
    return language


def _window(request: web.Request, now: datetime) -> CallbackWindow:
    """When a callback filed now is dialled and promised (queues.yaml callbacks.hours)."""
    policy = request.app[QUEUES]().callbacks
    calendar = request.app[FLOWS].library.calendar
    return promise_window(calendar, policy.hours, now, timedelta(seconds=policy.promise))


ROUTES = (
    Route("GET", "/api/reports/unreachable", list_reports, ANY_ROLE),
    Route("POST", "/api/reports/unreachable", file_report, ANY_ROLE),
    Route("GET", "/api/reports/unreachable/by-line", reports_by_line, PUBLIC),
    Route("GET", "/api/appeals", list_appeals, ANY_ROLE),
    Route("POST", "/api/appeals", file_appeal, ANY_ROLE),
    Route("GET", "/api/requests", list_requests, ANY_ROLE),
    Route("POST", "/api/requests", file_request, ANY_ROLE),
    Route("GET", "/api/callbacks", list_callbacks, ANY_ROLE),
    Route("POST", "/api/callbacks", request_callback, ANY_ROLE),
)

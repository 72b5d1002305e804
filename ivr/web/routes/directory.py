"""Routes for the lines, the subscriber directory and the outage board."""

from aiohttp import web

from ivr.storage.limits import ADDRESS, LONG
from ivr.web.cards import outage_view, subscriber_card
from ivr.web.input import path_id, query_bool, query_word, read_body
from ivr.web.keys import DESK, DIRECTORY, FLOWS, NOW, STORAGE, SUBSCRIBER_CHANGED
from ivr.web.reply import bad, error, reply
from ivr.web.route import ANY_ROLE, MANAGERS, PUBLIC, Route

SUBSCRIBER_FIELDS = ("contract", "full_name", "address", "city", "region_office", "phones")
OUTAGE_FIELDS = ("area", "service", "message", "expected_restore", "starts_at")


async def lines(request: web.Request) -> web.Response:
    library = request.app[FLOWS].library
    return reply(
        {
            "lines": [
                {
                    "number": line.number,
                    "sphere": line.sphere.value,
                    "city": line.city,
                    "published": line.published,
                    "flow": line.flow,
                    "language": line.language,
                }
                for _, line in sorted(library.lines.items())
            ]
        }
    )


async def find_subscribers(request: web.Request) -> web.StreamResponse:
    phone, contract = query_word(request, "phone"), query_word(request, "contract")
    if (phone is None) == (contract is None):
        raise bad("phone, contract", "expected one of them")
    if phone is not None:
        found = await request.app[STORAGE].run(request.app[DESK].subscribers_with_phone, phone)
    else:
        assert contract is not None
        one = await request.app[STORAGE].run(request.app[DIRECTORY].find_by_contract, contract)
        found = [one] if one is not None else []
    return reply({"subscribers": [subscriber_card(s) for s in found]})


async def get_subscriber(request: web.Request) -> web.StreamResponse:
    subscriber_id = path_id(request, "subscriber")
    found = await request.app[STORAGE].run(request.app[DIRECTORY].find_by_id, subscriber_id)
    if found is None:
        raise error(404, f"no such subscriber: {subscriber_id}")
    return reply({"subscriber": subscriber_card(found)})


async def add_subscriber(request: web.Request) -> web.StreamResponse:
    body = await read_body(request, SUBSCRIBER_FIELDS)
    contract = body.text("contract", required=True)
    full_name = body.text("full_name", required=True)
    address, city = body.text("address", ADDRESS), body.text("city")
    office, phones = body.text("region_office"), body.phones("phones")
    try:
        added = await request.app[STORAGE].run(
            request.app[DIRECTORY].add_subscriber,
            contract,
            full_name,
            address,
            city,
            office,
            phones,
        )
    except ValueError:  # the input is checked: the contract belongs to another account
        raise error(409, f"contract: {contract} belongs to another subscriber") from None
    return reply({"subscriber": subscriber_card(added)}, 201)


async def reconcile_phones(request: web.Request) -> web.StreamResponse:
    subscriber_id = path_id(request, "subscriber")
    body = await read_body(request, ("add", "remove"))
    add, remove = body.phones("add"), body.phones("remove")
    try:
        found = await request.app[STORAGE].run(
            request.app[DIRECTORY].reconcile_phones, subscriber_id, add, remove
        )
    except LookupError:
        raise error(404, f"no such subscriber: {subscriber_id}") from None
    except ValueError as exc:  # one number both added and removed
        raise error(409, f"add, remove: {exc}") from None
    request.app[SUBSCRIBER_CHANGED](found.id)
    return reply({"subscriber": subscriber_card(found)})


async def list_outages(request: web.Request) -> web.Response:
    active = query_bool(request, "active")
    board = await request.app[STORAGE].run(request.app[DESK].outages, request.app[NOW](), active)
    return reply({"outages": [outage_view(o) for o in board]})


async def post_outage(request: web.Request) -> web.StreamResponse:
    body = await read_body(request, OUTAGE_FIELDS)
    area, service = body.text("area", required=True), body.text("service")
    message = body.text("message", LONG, required=True)
    restore, starts = body.time("expected_restore"), body.time("starts_at")
    posted = await request.app[STORAGE].run(
        request.app[DIRECTORY].post_outage,
        area,
        service,
        message,
        restore,
        starts or request.app[NOW](),
    )
    view = await request.app[STORAGE].run(request.app[DESK].outage, posted.id, request.app[NOW]())
    assert view is not None
    return reply({"outage": outage_view(view)}, 201)


async def end_outage(request: web.Request) -> web.StreamResponse:
    outage_id = path_id(request, "outage")
    now = request.app[NOW]()
    try:
        await request.app[STORAGE].run(request.app[DIRECTORY].end_outage, outage_id, now)
    except LookupError:
        raise error(404, f"no such outage: {outage_id}") from None
    view = await request.app[STORAGE].run(request.app[DESK].outage, outage_id, now)
    assert view is not None
    return reply({"outage": outage_view(view)})


ROUTES = (
    Route("GET", "/api/lines", lines, PUBLIC),
    Route("GET", "/api/subscribers", find_subscribers, ANY_ROLE),
    Route("POST", "/api/subscribers", add_subscriber, MANAGERS),
    Route("GET", r"/api/subscribers/{id:[0-9]+}", get_subscriber, ANY_ROLE),
    Route("POST", r"/api/subscribers/{id:[0-9]+}/phones", reconcile_phones, ANY_ROLE),
    Route("GET", "/api/outages", list_outages, PUBLIC),
    Route("POST", "/api/outages", post_outage, MANAGERS),
    Route("POST", r"/api/outages/{id:[0-9]+}/end", end_outage, MANAGERS),
)

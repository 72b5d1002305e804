"""API routes for the lines, the subscriber directory and the outage board."""

from dataclasses import asdict
from typing import Any

from aiohttp import web

from ivr.flow.context import Subscriber
from ivr.storage.desk import OutageView
from ivr.storage.limits import ADDRESS, LONG
from ivr.web.api_deps import ANY_ROLE, MANAGERS, ApiDeps
from ivr.web.api_input import (
    bad,
    error,
    path_id,
    query_bool,
    query_word,
    read_body,
)
from ivr.web.app import Reply
from ivr.web.auth import require

SUBSCRIBER_FIELDS = ("contract", "full_name", "address", "city", "region_office", "phones")
OUTAGE_FIELDS = ("area", "service", "message", "expected_restore", "starts_at")


def card(subscriber: Subscriber) -> dict[str, Any]:
    """A subscriber as the API shows it: {id, contract, full_name, address, city,
    region_office, phones}."""
    return {**asdict(subscriber), "phones": list(subscriber.phones)}


def outage_view(outage: OutageView) -> dict[str, Any]:
    return asdict(outage)


def add_directory_routes(app: web.Application, reply: Reply, deps: ApiDeps) -> None:
    anyone = require(deps.tokens, *ANY_ROLE)
    managers = require(deps.tokens, *MANAGERS)

    async def lines(_: web.Request) -> web.Response:
        library = deps.flows.library
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

    @anyone
    async def find_subscribers(request: web.Request) -> web.StreamResponse:
        phone, contract = query_word(request, "phone"), query_word(request, "contract")
        if (phone is None) == (contract is None):
            raise bad("phone, contract", "expected one of them")
        if phone is not None:
            found = await deps.storage.run(deps.desk.subscribers_with_phone, phone)
        else:
            assert contract is not None
            one = await deps.storage.run(deps.directory.find_by_contract, contract)
            found = [one] if one is not None else []
        return reply({"subscribers": [card(s) for s in found]})

    @anyone
    async def get_subscriber(request: web.Request) -> web.StreamResponse:
        subscriber_id = path_id(request, "subscriber")
        found = await deps.storage.run(deps.directory.find_by_id, subscriber_id)
        if found is None:
            raise error(404, f"no such subscriber: {subscriber_id}")
        return reply({"subscriber": card(found)})

    @managers
    async def add_subscriber(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, SUBSCRIBER_FIELDS)
        contract = body.text("contract", required=True)
        full_name = body.text("full_name", required=True)
        address, city = body.text("address", ADDRESS), body.text("city")
        office, phones = body.text("region_office"), body.phones("phones")
        try:
            added = await deps.storage.run(
                deps.directory.add_subscriber, contract, full_name, address, city, office, phones
            )
        except ValueError:  # the input is checked: the contract belongs to another account
            raise error(409, f"contract: {contract} belongs to another subscriber") from None
        return reply({"subscriber": card(added)}, 201)

    @anyone
    async def reconcile_phones(request: web.Request) -> web.StreamResponse:
        subscriber_id = path_id(request, "subscriber")
        body = await read_body(request, ("add", "remove"))
        add, remove = body.phones("add"), body.phones("remove")
        try:
            found = await deps.storage.run(
                deps.directory.reconcile_phones, subscriber_id, add, remove
            )
        except LookupError:
            raise error(404, f"no such subscriber: {subscriber_id}") from None
        except ValueError as exc:  # one number both added and removed
            raise error(409, f"add, remove: {exc}") from None
        deps.subscriber_changed(found.id)
        return reply({"subscriber": card(found)})

    async def list_outages(request: web.Request) -> web.Response:
        active = query_bool(request, "active")
        board = await deps.storage.run(deps.desk.outages, deps.now(), active)
        return reply({"outages": [outage_view(o) for o in board]})

    @managers
    async def post_outage(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, OUTAGE_FIELDS)
        area, service = body.text("area", required=True), body.text("service")
        message = body.text("message", LONG, required=True)
        restore, starts = body.time("expected_restore"), body.time("starts_at")
        posted = await deps.storage.run(
            deps.directory.post_outage, area, service, message, restore, starts or deps.now()
        )
        view = await deps.storage.run(deps.desk.outage, posted.id, deps.now())
        assert view is not None
        return reply({"outage": outage_view(view)}, 201)

    @managers
    async def end_outage(request: web.Request) -> web.StreamResponse:
        outage_id = path_id(request, "outage")
        now = deps.now()
        try:
            await deps.storage.run(deps.directory.end_outage, outage_id, now)
        except LookupError:
            raise error(404, f"no such outage: {outage_id}") from None
        view = await deps.storage.run(deps.desk.outage, outage_id, now)
        assert view is not None
        return reply({"outage": outage_view(view)})

    router = app.router
    router.add_get("/api/lines", lines)
    router.add_get("/api/subscribers", find_subscribers)
    router.add_post("/api/subscribers", add_subscriber)
    router.add_get(r"/api/subscribers/{id:[0-9]+}", get_subscriber)
    router.add_post(r"/api/subscribers/{id:[0-9]+}/phones", reconcile_phones)
    router.add_get("/api/outages", list_outages)
    router.add_post("/api/outages", post_outage)
    router.add_post(r"/api/outages/{id:[0-9]+}/end", end_outage)

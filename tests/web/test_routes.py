"""The app built from the route tables: every route under the roles its table declares,
HEAD included; one handler, one set of roles."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from ivr.web.app import make_web_app
from ivr.web.route import ANY_ROLE, MANAGERS, PUBLIC, Route
from ivr.web.routes import ALL
from tests.web.kit import ADMIN, AGENT, auth

Client = TestClient[web.Request, web.Application]


async def test_head_of_a_guarded_route_needs_a_token_too(client: Client) -> None:
    assert (await client.head("/api/calls")).status == 401
    assert (await client.head("/api/calls", headers=auth(AGENT))).status == 200
    assert (await client.head("/api/lines")).status == 200  # public


async def test_a_token_of_another_role_is_refused(client: Client) -> None:
    response = await client.post("/api/flows/validate", headers=auth(AGENT))
    assert response.status == 403
    assert await response.json() == {"error": "role agent may not do this"}
    assert (await client.post("/api/flows/validate", headers=auth(ADMIN))).status == 200


def test_every_route_says_who_may_call_it() -> None:
    for route in ALL:
        assert route.roles in (PUBLIC, ANY_ROLE, MANAGERS), route.path


def test_a_handler_serves_its_routes_under_one_set_of_roles() -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response()

    routes = [Route("GET", "/a", handler, PUBLIC), Route("POST", "/b", handler, MANAGERS)]
    with pytest.raises(ValueError, match="/b: its handler serves another route with other"):
        make_web_app(routes)

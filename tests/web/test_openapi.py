"""ivr/web/openapi.yaml against the engine's real route table and the API's own rules:
every route is described and every description is served; tokens, limits, enums and body
fields are the ones the code enforces."""

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.app import Engine
from ivr.events.model import (
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallEscalated,
    CallQueued,
    CallRouted,
    CallStarted,
    TalkLimitReached,
)
from ivr.flow.model import Sphere
from ivr.monitors.supervise import MODES
from ivr.storage import limits
from ivr.storage.callbacks import STATUSES
from ivr.storage.db import make_session_factory
from ivr.storage.desk import KINDS, MAX_LIMIT, PROBLEMS, clean
from ivr.storage.journal import write_events
from ivr.web import input as api_input
from ivr.web.app import OPENAPI_FILE
from ivr.web.route import PUBLIC
from ivr.web.routes import ALL, calls, desk, directory
from tests.web.kit import ADMIN, AGENT, T0, TOKENS, auth, engine_for_tests

METHODS = ("get", "post", "put", "patch", "delete")
SPEC: dict[str, Any] = yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
STREAMS = {"/api/live", "/api/agents/{agent}/events"}  # endless when allowed in
SAMPLE_PATH_VALUES = {"{agent}": "1001", "{id}": "1", "{call_id}": "1700000000.1"}


def documented() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in METHODS
    }


def operation(method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = SPEC["paths"][path][method.lower()]
    return found


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def sample(path: str) -> str:
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace(name, value)
    return path


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = engine_for_tests(tmp_path_factory.mktemp("engine"))
    yield engine
    engine.db.dispose()


@pytest.fixture
def engine_app(engine: Engine) -> web.Application:
    """The app the engine serves, with every route module."""
    return engine.web_app(TOKENS)


@pytest.fixture
async def client(engine_app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(engine_app)) as client:
        yield client


def test_every_route_of_the_engine_is_described_and_nothing_else(
    engine_app: web.Application,
) -> None:
    routes = {
        (route.method, route.resource.canonical)
        for route in engine_app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and not isinstance(route.resource, web.StaticResource)
    }
    assert routes - documented() == set(), "routes missing from openapi.yaml"
    assert documented() - routes == set(), "openapi.yaml describes routes the app lacks"


async def test_protected_operations_refuse_callers_without_a_token(
    client: TestClient[Any, Any],
) -> None:
    for method, path in sorted(documented()):
        secured = "security" in operation(method, path)
        if not secured and (path in STREAMS or method != "GET"):
            continue
        response = await client.request(method, sample(path), allow_redirects=False)
        if secured:
            assert response.status == 401, (method, path)
            assert response.headers["WWW-Authenticate"] == "Bearer"
        else:
            assert response.status in (200, 302, 503), (method, path)


async def test_every_operation_addressed_by_agent_refuses_another_agents_token(
    client: TestClient[Any, Any],
) -> None:
    """Agent 1001's token on agent 1002's routes: 403, and the spec says so."""
    addressed = sorted((m, p) for m, p in documented() if "{agent}" in p)
    assert len(addressed) == 6
    forbidden = {"$ref": "#/components/responses/ForbiddenAgent"}
    for method, path in addressed:
        assert operation(method, path)["responses"]["403"] == forbidden, (method, path)
        url = path.replace("{agent}", "1002")
        body = {"reason": "lunch"} if path.endswith("/pause") else None
        response = await client.request(method, url, json=body, headers=auth(AGENT))
        assert response.status == 403, (method, path)
        assert "acts for agent 1001 only" in (await response.json())["error"], (method, path)
    for method, path in (("POST", "/api/appeals"), ("POST", "/api/requests")):
        assert operation(method, path)["responses"]["403"] == forbidden, (method, path)


def test_every_change_needs_a_token_and_so_does_personal_data() -> None:
    personal = {
        "/api/calls",
        "/api/calls/{call_id}/recording",
        "/api/subscribers",
        "/api/subscribers/{id}",
        "/api/reports/unreachable",
        "/api/appeals",
        "/api/requests",
        "/api/callbacks",
        "/api/agents/{agent}/call",
        "/api/agents/{agent}/events",
        "/api/monitoring",  # who listened to which call
        "/api/flows/history",  # who changed the flows (their tokens' prefixes)
        "/api/flows/history/{id}",
    }
    for method, path in documented():
        secured = operation(method, path).get("security") == [{"bearerAuth": []}]
        assert secured == (method != "GET" or path in personal), (method, path)


def test_the_route_table_guards_what_the_description_secures() -> None:
    """A route is public in the route table exactly when its operation has no security."""
    for route in ALL:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)  # {id:[0-9]+} -> {id}
        secured = "security" in operation(route.method, path)
        assert secured == (route.roles != PUBLIC), (route.method, path)


def test_every_operation_documents_its_errors() -> None:
    for method, path in documented():
        op = operation(method, path)
        responses = op["responses"]
        if "security" in op:
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in op or any(
            p.get("in") == "query" for p in op.get("parameters", []) if isinstance(p, dict)
        ):
            assert "400" in responses, (method, path)
        if "{" in path and path not in {"/api/agents/{agent}/events"} | STREAMS:
            assert "404" in responses, (method, path)


def test_every_reference_resolves() -> None:
    text = OPENAPI_FILE.read_text(encoding="utf-8")
    for ref in set(re.findall(r'\$ref: "#/components/(\w+)/(\w+)"', text)):
        kind, name = ref
        assert name in SPEC["components"][kind], ref


def test_the_blank_pattern_is_what_the_api_takes_for_blank() -> None:
    pattern = re.compile(SCHEMAS["RequiredText"]["pattern"])
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert bool(pattern.search(char)) == bool(clean(char)), hex(code)


def test_the_limits_are_the_ones_the_api_enforces() -> None:
    assert SCHEMAS["Text"]["maxLength"] == SCHEMAS["RequiredText"]["maxLength"] == limits.SHORT
    assert SCHEMAS["LongText"]["maxLength"] == limits.LONG
    assert SCHEMAS["RequiredLongText"]["maxLength"] == limits.LONG
    assert SCHEMAS["Address"]["maxLength"] == limits.ADDRESS
    assert SCHEMAS["Phone"]["maxLength"] == limits.PHONE
    assert SCHEMAS["Phones"]["maxItems"] == api_input.MAX_PHONES
    assert SCHEMAS["Id"]["maximum"] == api_input.MAX_ID
    limit = SPEC["components"]["parameters"]["Limit"]["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, MAX_LIMIT)
    low, high = desk.CALLBACK_DIGITS
    assert f"{{{low},{high}}}" in SCHEMAS["NewCallback"]["properties"]["phone"]["pattern"]


def test_the_enums_are_the_ones_the_code_knows() -> None:
    props = SCHEMAS["NewUnreachableReport"]["properties"]
    assert props["problem"]["enum"] == list(PROBLEMS)
    assert SCHEMAS["NewServiceRequest"]["properties"]["kind"]["enum"] == list(KINDS)
    assert SCHEMAS["Callback"]["properties"]["status"]["enum"] == list(STATUSES)
    assert SCHEMAS["Line"]["properties"]["sphere"]["enum"] == [s.value for s in Sphere]
    assert SCHEMAS["NewMonitor"]["properties"]["mode"]["enum"] == list(MODES)
    assert SCHEMAS["MonitorUse"]["properties"]["mode"]["enum"] == list(MODES)


@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ("NewUnreachableReport", desk.REPORT_FIELDS),
        ("NewAppeal", desk.APPEAL_FIELDS),
        ("NewServiceRequest", desk.REQUEST_FIELDS),
        ("NewCallback", desk.CALLBACK_FIELDS),
        ("NewSubscriber", directory.SUBSCRIBER_FIELDS),
        ("NewOutage", directory.OUTAGE_FIELDS),
        ("NewMonitor", calls.MONITOR_FIELDS),
    ],
)
def test_request_bodies_list_the_fields_the_api_reads(schema: str, fields: tuple[str]) -> None:
    body = SCHEMAS[schema]
    assert body["additionalProperties"] is False
    assert set(body["properties"]) == set(fields)
    for name in body["required"]:
        assert name in fields


async def test_call_rows_have_every_field_the_schema_lists(
    engine: Engine, client: TestClient[Any, Any]
) -> None:
    """A journal row with every field set, as /api/calls serves it: exactly the Call
    schema's properties (none left out, none undocumented), valid against the schema."""
    call = "schema-row-1"
    events = [
        CallStarted(call, "5551000", "380671112233", "PJSIP/trunk-1", T0),
        CallRouted(
            call,
            "5551000",
            "380671112233",
            "internet",
            "existing_service",
            5,
            ("1", "2"),
            T0,
            subscriber_id=42,
        ),
        CallQueued(call, "internet", 1, T0),
        CallAnswered(call, "internet", "1001", "PJSIP/1001-2", 12.5, True, T0),
        CallEscalated(call, "internet", "raise_priority", "priority 5 -> 8", 10.0, T0),
        TalkLimitReached(call, "internet", "1001", "PJSIP/1001-2", "hard_limit", 300.0, T0),
        CallCompleted(call, "internet", "1001", 300.0, "hard_limit", T0),
        CallEnded(call, "16", T0),
    ]
    await asyncio.to_thread(write_events, make_session_factory(engine.db), events)
    response = await client.get("/api/calls", params={"limit": "1000"}, headers=auth(ADMIN))
    [row] = [r for r in (await response.json())["calls"] if r["call_id"] == call]
    schema = SCHEMAS["Call"]
    assert set(row) == set(schema["properties"])
    assert set(schema["required"]) == set(schema["properties"])  # always sent, maybe null
    validator = jsonschema.Draft202012Validator(
        {**schema, "components": SPEC["components"]}, format_checker=jsonschema.FormatChecker()
    )
    assert [e.message for e in validator.iter_errors(row)] == []
    assert (row["subscriber_id"], row["ended_by"], row["talk_seconds"]) == (42, "hard_limit", 300)


async def test_the_served_file_is_the_package_file(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/openapi.yaml")
    assert yaml.safe_load(await response.text()) == SPEC
    assert (await client.get("/api/openapi.yaml", headers=auth(ADMIN))).status == 200

"""schemathesis against the engine's real HTTP app on SQLite: every operation of
ivr/web/openapi.yaml with generated valid and invalid input, with the default checks (no
5xx, response schemas, documented status codes and content types, auth enforced, invalid
input refused, valid input accepted...). An admin token is supplied.

The app is the one the engine serves (Engine.web_app), not started: Asterisk is not there,
so agent commands go to fake app_queue member actions. Left out: the two endless
Server-Sent Events streams.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from ivr.web.app import OPENAPI_FILE
from tests.web.kit import ADMIN, TOKENS, engine_for_tests
from tests.web.live_server import LiveServer

STREAMS = ["/api/live", "/api/agents/{agent}/events"]
# OpenAPI cannot say "exactly one of the query parameters phone and contract": without
# (or with both) the search answers 400, which schemathesis takes for valid input refused.
ONE_OF_TWO = {
    "include-name": "GET /api/subscribers",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["200", "400", "401", "403"]}},
}
# Nor "a queue of queues.yaml", "until after since" or "at most 31 days": the 400s of the
# report windows (/api/staffing, /api/prediction).
WINDOW = {
    "include-name": "GET /api/staffing",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["200", "400"]}},
}
PREDICTION_WINDOW = {**WINDOW, "include-name": "GET /api/prediction"}
# The engine is not started here (no FastAGI server): /health says so with its documented 503.
NOT_SERVING = {
    "include-name": "GET /health",
    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
}
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261124,
        "generation": {"max-examples": 12},
        "auth": {"openapi": {"bearerAuth": {"bearer": ADMIN}}},
        "operations": [ONE_OF_TWO, WINDOW, PREDICTION_WINDOW, NOT_SERVING],
    }
)
schema = schemathesis.openapi.from_path(OPENAPI_FILE, config=CONFIG).exclude(path=STREAMS)


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    engine = engine_for_tests(tmp_path_factory.mktemp("engine"))
    with LiveServer(lambda: engine.web_app(TOKENS)) as served:
        yield served
    engine.db.dispose()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_description(case: schemathesis.Case, engine_url: str) -> None:
    case.call_and_validate(base_url=engine_url, allow_redirects=False, timeout=10)

"""The REST API: the directory and outage board, the operator's desk, flows.

Reads of personal data need a token of any role, every change a token of a role allowed
to make it; counts, lines and outages are public. Described in ivr/web/openapi.yaml.
"""

from aiohttp import web

from ivr.web.api_deps import ApiDeps
from ivr.web.api_desk import add_desk_routes
from ivr.web.api_directory import add_directory_routes
from ivr.web.api_flows import add_flow_routes
from ivr.web.app import Reply

__all__ = ["ApiDeps", "add_api_routes"]


def add_api_routes(app: web.Application, reply: Reply, deps: ApiDeps) -> None:
    add_directory_routes(app, reply, deps)
    add_desk_routes(app, reply, deps)
    add_flow_routes(app, reply, deps)

"""Every route of the engine's HTTP app, module by module (each module's ROUTES table):
ivr.web.app builds the app from ALL."""

from ivr.web.route import Route
from ivr.web.routes import (
    agents,
    calls,
    desk,
    directory,
    flows,
    live,
    outage_alerts,
    pages,
    queues,
    staffing,
    system,
)

ALL: tuple[Route, ...] = (
    *system.ROUTES,
    *calls.ROUTES,
    *agents.ROUTES,
    *queues.ROUTES,
    *staffing.ROUTES,
    *live.ROUTES,
    *directory.ROUTES,
    *outage_alerts.ROUTES,
    *desk.ROUTES,
    *flows.ROUTES,
    *pages.ROUTES,
)

"""agi_scripts/fallback_route.py: the fallback path's queue priority without the engine.

The dialplan's fallback sets the plain route first (fallback queue, priority 0); this
script then sets the caller's class and priority from what needs no engine: the dialled
line's sphere (lines.yaml / lines.csv) and whether the caller's number is a subscriber's
phone (the directory, read directly). A line whose flow is the meter-reading flow is
served by agi_scripts/meter_reading.py instead. Any failure leaves the plain route: a
caller is never dropped because this script failed.
"""

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from ivr.config import Settings
from ivr.flow.model import Sphere
from ivr.offline.agi import ClassicAgi
from ivr.offline.runtime import ScriptConfig, database, load_config
from ivr.routing.decide import RouteDecision
from ivr.routing.fallback import fallback_route
from ivr.storage.directory import StoreDirectory
from ivr.telephony import names

log = logging.getLogger(__name__)

METER_FLOW = "meter"  # lines running this flow keep taking readings with the engine down
LOOKUP_OK, LOOKUP_NO_DATABASE, LOOKUP_FAILED = "ok", "no-database", "failed"


class Deadline(Exception):
    """The script ran out of time: the caller goes on with the plain fallback."""


@dataclass(frozen=True)
class FallbackVerdict:
    route: RouteDecision | None  # None: keep the plain fallback the dialplan set
    self_service: str  # METER_FLOW, or "": queue the caller
    lookup: str  # LOOKUP_OK, LOOKUP_NO_DATABASE (the line's class only) or LOOKUP_FAILED


def known_subscriber(settings: Settings, caller: str) -> bool | None:
    """Whether the caller's number is a subscriber's phone; None when the database
    cannot say (down, slow, not migrated)."""
    try:
        with database(settings) as sessions:
            return StoreDirectory(sessions, settings.phone_country_code).has_phone(caller)
    except SQLAlchemyError as exc:
        log.warning("fallback route: no directory: %s", str(exc).splitlines()[0])
        return None


def decide_fallback(
    config: ScriptConfig, line_number: str, caller: str, subscriber: Callable[[], bool | None]
) -> FallbackVerdict:
    """The verdict for a call on `line_number` from `caller`; `subscriber` asks the
    directory (not asked when the line alone decides)."""
    line = config.library.lines.get(line_number)
    if line is not None and line.flow == METER_FLOW:
        return FallbackVerdict(None, METER_FLOW, LOOKUP_OK)
    connections = line is not None and line.sphere is Sphere.CONNECTIONS
    known = False if connections else subscriber()
    route = fallback_route(connections, bool(known), config.queues)
    return FallbackVerdict(route, "", LOOKUP_NO_DATABASE if known is None else LOOKUP_OK)


async def tell_dialplan(agi: ClassicAgi, verdict: FallbackVerdict) -> None:
    """The variables the fallback dialplan reads."""
    await agi.set_variable(names.VAR_FALLBACK_LOOKUP, verdict.lookup)
    await agi.set_variable(names.VAR_FALLBACK_SELF, verdict.self_service)
    if verdict.route is not None:
        await agi.set_variable(names.VAR_QUEUE, verdict.route.queue)
        await agi.set_variable(names.VAR_CALLER_CLASS, verdict.route.caller_class)
        await agi.set_variable(names.VAR_PRIORITY, str(verdict.route.priority))


def _deadline_passed(_signum: int, _frame: FrameType | None) -> None:
    raise Deadline("the fallback route took too long")


async def serve(agi: ClassicAgi, settings: Settings, deadline_s: float) -> FallbackVerdict:
    """Look up and set the route within `deadline_s` (then: the plain fallback)."""
    line_number = agi.args[0] if agi.args else ""
    caller = agi.env.get("agi_callerid", "")
    previous = signal.signal(signal.SIGALRM, _deadline_passed)
    signal.setitimer(signal.ITIMER_REAL, deadline_s)
    try:
        config = load_config(settings)
        verdict = decide_fallback(
            config, line_number, caller, lambda: known_subscriber(settings, caller)
        )
    except Exception as exc:  # any failure: the plain fallback, logged
        log.warning("fallback route for line %r: %s: plain fallback", line_number, exc)
        verdict = FallbackVerdict(None, "", LOOKUP_FAILED)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    await tell_dialplan(agi, verdict)
    return verdict

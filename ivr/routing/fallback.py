"""Pure routing for the fallback path (the engine is down): the caller's class from what
Asterisk and the database still know without the engine. No I/O."""

from ivr.queues.model import QueuesConfig
from ivr.routing.decide import RouteDecision, decide

NEW_CONNECTION = "new_connection"  # a line of the connections sphere: prospective customers
EXISTING_SERVICE = "existing_service"  # a caller whose number is a subscriber's phone
UNKNOWN = "unknown"  # neither: the plain fallback


def fallback_class(connections_line: bool, known_subscriber: bool) -> str:
    """New-connection lines keep their class (served first, as the engine's menus route
    them); a subscriber's number is existing service; anyone else is unknown."""
    if connections_line:
        return NEW_CONNECTION
    return EXISTING_SERVICE if known_subscriber else UNKNOWN


def fallback_route(
    connections_line: bool, known_subscriber: bool, config: QueuesConfig
) -> RouteDecision:
    """The fallback queue, with the class's priority from queues.yaml (a class queues.yaml
    does not name gets the lowest priority, as in `decide`)."""
    caller_class = fallback_class(connections_line, known_subscriber)
    return decide(config.fallback_queue, caller_class, config)

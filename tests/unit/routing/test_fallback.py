from dataclasses import replace

import pytest

from ivr.config import PROJECT_ROOT
from ivr.queues.model import load_queues
from ivr.routing.fallback import fallback_class, fallback_route

QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")


@pytest.mark.parametrize(
    ("connections_line", "known_subscriber", "expected"),
    [
        (True, False, "new_connection"),
        (True, True, "new_connection"),  # the line keeps its class
        (False, True, "existing_service"),
        (False, False, "unknown"),
    ],
)
def test_the_class_comes_from_the_line_then_the_directory(
    connections_line: bool, known_subscriber: bool, expected: str
) -> None:
    assert fallback_class(connections_line, known_subscriber) == expected


def test_the_route_is_the_fallback_queue_with_the_class_priority() -> None:
    new = fallback_route(True, False, QUEUES)
    old = fallback_route(False, True, QUEUES)
    nobody = fallback_route(False, False, QUEUES)
    assert {new.queue, old.queue, nobody.queue} == {QUEUES.fallback_queue}
    assert (new.priority, old.priority, nobody.priority) == (10, 5, 0)
    assert new.priority > old.priority > nobody.priority


def test_a_class_queues_yaml_lacks_gets_the_lowest_priority() -> None:
    classes = {k: v for k, v in QUEUES.caller_classes.items() if k != "new_connection"}
    route = fallback_route(True, False, replace(QUEUES, caller_classes=classes))
    assert route.priority == min(c.priority for c in classes.values())
    assert "unknown class 'new_connection'" in route.reason

from ivr.config import PROJECT_ROOT
from ivr.queues.model import load_queues
from ivr.routing.decide import decide

QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")


def test_new_connection_outranks_existing_service() -> None:
    new = decide("connections", "new_connection", QUEUES)
    old = decide("internet", "existing_service", QUEUES)
    assert new.priority > old.priority
    assert (new.queue, new.reason) == ("connections", "as configured")


def test_unknown_queue_goes_to_fallback_queue() -> None:
    decision = decide("nowhere", "existing_service", QUEUES)
    assert decision.queue == QUEUES.fallback_queue
    assert "unknown queue 'nowhere'" in decision.reason


def test_unknown_class_gets_lowest_priority() -> None:
    decision = decide("tv", "vip", QUEUES)
    assert decision.priority == min(c.priority for c in QUEUES.caller_classes.values())
    assert "unknown class 'vip'" in decision.reason

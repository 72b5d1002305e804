"""Pure routing: where a caller goes and with what priority. No I/O."""

from dataclasses import dataclass

from ivr.queues.model import QueuesConfig


@dataclass(frozen=True)
class RouteDecision:
    queue: str
    caller_class: str
    priority: int
    reason: str


def decide(queue: str, caller_class: str, config: QueuesConfig) -> RouteDecision:
    """Map a flow's route request onto a configured queue and the class's QUEUE_PRIO.

    Unknown queues go to the fallback queue and unknown classes get the lowest priority,
    so a misconfigured flow still reaches an operator.
    """
    reasons = []
    if queue not in config.queues:
        reasons.append(f"unknown queue {queue!r}: fallback queue")
        queue = config.fallback_queue
    known = config.caller_classes.get(caller_class)
    if known is None:
        reasons.append(f"unknown class {caller_class!r}: lowest priority")
        priority = min((c.priority for c in config.caller_classes.values()), default=0)
    else:
        priority = known.priority
    return RouteDecision(queue, caller_class, priority, "; ".join(reasons) or "as configured")

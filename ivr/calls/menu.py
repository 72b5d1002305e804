"""The call's use case: run the line's flow, then decide the route (shared by a live call
and a simulated one)."""

from dataclasses import dataclass

from ivr.flow.context import StepContext
from ivr.flow.runner import FlowOutcome, run_flow
from ivr.queues.model import QueuesConfig
from ivr.routing.decide import RouteDecision, decide


@dataclass(frozen=True)
class MenuResult:
    outcome: FlowOutcome
    decision: RouteDecision | None  # None: the menu served the caller itself


async def run_menu(ctx: StepContext, queues: QueuesConfig) -> MenuResult:
    """Run the flow from ctx (FlowRunError propagates: the caller's fallback path), then map
    its route request onto a configured queue and priority."""
    outcome = await run_flow(ctx)
    if outcome.route is None:
        return MenuResult(outcome, None)
    return MenuResult(outcome, decide(outcome.route.queue, outcome.route.caller_class, queues))


def fallback_decision(queues: QueuesConfig) -> RouteDecision:
    """Where the dialplan sends a caller the engine failed: the fallback queue."""
    return decide(queues.fallback_queue, "unknown", queues)

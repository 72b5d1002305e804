"""Run a flow against a call until it routes the caller (or runs out of steps)."""

from dataclasses import dataclass

from ivr.flow.model import Flow
from ivr.flow.port import CallPort
from ivr.flow.steps.base import RouteRequest, StepContext
from ivr.flow.steps.registry import STEP_TYPES

MAX_STEPS = 200


class FlowRunError(RuntimeError):
    """The flow ended without a route (dead end or too many steps)."""


@dataclass(frozen=True)
class FlowOutcome:
    route: RouteRequest
    path: tuple[str, ...]


async def run_flow(flow: Flow, port: CallPort) -> FlowOutcome:
    ctx = StepContext(port=port)
    node_id: str | None = flow.start
    for _ in range(MAX_STEPS):
        if node_id is None:
            raise FlowRunError(f"flow {flow.name!r} ended without a route after {ctx.path}")
        node = flow.nodes[node_id]
        result = await STEP_TYPES[node.type].run(node.id, node.spec, ctx)
        if result.route is not None:
            return FlowOutcome(route=result.route, path=tuple(ctx.path))
        node_id = result.next
    raise FlowRunError(f"flow {flow.name!r} took more than {MAX_STEPS} steps: {ctx.path[-10:]}")

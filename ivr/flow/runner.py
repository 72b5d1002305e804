"""Run a line's flow against a call until it routes the caller or ends the call."""

from dataclasses import dataclass

from ivr.flow.context import CallInfo, FlowServices, StepContext
from ivr.flow.model import FlowLibrary
from ivr.flow.port import CallPort
from ivr.flow.steps.base import RouteRequest
from ivr.flow.steps.records import StepFailed

MAX_STEPS = 200


class FlowRunError(RuntimeError):
    """The flow could not finish (dead end, too many steps, a step that failed): the
    dialplan's fallback sends the caller to an operator."""


@dataclass(frozen=True)
class FlowOutcome:
    route: RouteRequest | None  # None: the flow ended the call (self-service done, hangup)
    path: tuple[str, ...]


def new_context(
    library: FlowLibrary, call: CallInfo, port: CallPort, services: FlowServices
) -> StepContext:
    """A call entering the flow of its line (the default flow for an unknown number), in
    the line's language."""
    _, flow = library.flow_for(call.number)
    language = (call.line.language if call.line else "") or library.prompts.default_language
    return StepContext(
        call=call, port=port, library=library, services=services, language=language, flow=flow.name
    )


async def run_flow(ctx: StepContext) -> FlowOutcome:
    """Run from the start of ctx.flow; `goto: {flow: ...}` switches flows on the way."""
    flow = ctx.library.flows[ctx.flow]
    node_id: str | None = flow.start
    for _ in range(MAX_STEPS):
        if node_id is None:
            raise FlowRunError(f"flow {flow.name!r} ended without a route after {ctx.path}")
        node = flow.nodes[node_id]
        try:
            result = await node.step.run(node.id, node.checked.config, ctx)
        except StepFailed as exc:
            raise FlowRunError(f"flow {flow.name!r}: {exc}") from exc
        if result.route is not None or result.hangup:
            return FlowOutcome(route=result.route, path=tuple(ctx.path))
        if result.flow is not None:
            flow = ctx.library.flows[result.flow]
            ctx.flow, node_id = flow.name, flow.start
        else:
            node_id = result.next
    raise FlowRunError(f"flow {flow.name!r} took more than {MAX_STEPS} steps: {ctx.path[-10:]}")

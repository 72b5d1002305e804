"""goto: go on at another node, or at the start of another flow (variables and language
carry over)."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import Checked, FlowSpecError, Ref, StepResult, name_of, target_of


class Goto:
    keys = frozenset({"type", "node", "flow"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        if ("node" in spec) == ("flow" in spec):
            raise FlowSpecError(("type",), "a goto needs exactly one of node or flow")
        if "node" in spec:
            return Checked({("node",): str(target_of(spec, "node"))})
        return Checked(refs=[Ref("flow", name_of(spec, "flow"), ("flow",))], exits=True)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        if "flow" in spec:
            ctx.path.append(f"{node_id}:{spec['flow']}")
            return StepResult(flow=name_of(spec, "flow"))
        return StepResult(next=target_of(spec, "node"))

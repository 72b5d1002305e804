"""goto: go on at another node, or at the start of another flow (variables and language
carry over)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    Ref,
    StepResult,
    StepType,
    name_of,
    target_of,
)
from ivr.flow.steps.drawing import TERMINAL
from ivr.flow.steps.schema_parts import StepSchema, node, text

GOTO_FLOW = f'shape=cds, margin="0.25,0.08", {TERMINAL}'  # it leaves the flow


@dataclass(frozen=True)
class GotoConfig:
    node: str | None  # exactly one of node and flow
    flow: str | None


class Goto(StepType[GotoConfig]):
    keys = frozenset({"type", "node", "flow"})
    shape = "shape=cds"
    schema = StepSchema(
        "Go on at another node, or at the start of another flow (needs node or flow).",
        {
            "node": node("A node of this flow."),
            "flow": text("Another flow's name: its start node comes next."),
        },
        rules={  # exactly one of node and flow (worded so editors say which key is wrong)
            "if": {"required": ["node"]},
            "then": {"properties": {"flow": False}},
            "else": {"required": ["flow"]},
        },
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[GotoConfig]:
        if ("node" in spec) == ("flow" in spec):
            raise FlowSpecError(("type",), "a goto needs exactly one of node or flow")
        if "node" in spec:
            target = str(target_of(spec, "node"))
            return Checked(GotoConfig(target, None), {("node",): target})
        flow = name_of(spec, "flow")
        return Checked(GotoConfig(None, flow), refs=[Ref("flow", flow, ("flow",))], exits=True)

    def looks(self, config: GotoConfig) -> str:
        return GOTO_FLOW if config.flow is not None else self.shape

    def detail(self, config: GotoConfig) -> list[str]:
        return [f"→ flow {config.flow}" if config.flow is not None else f"→ {config.node}"]

    async def run(self, node_id: str, config: GotoConfig, ctx: StepContext) -> StepResult:
        if config.flow is not None:
            ctx.path.append(f"{node_id}:{config.flow}")
            return StepResult(flow=config.flow)
        return StepResult(next=config.node)

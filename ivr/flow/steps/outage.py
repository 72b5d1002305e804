"""outage: before queueing, tell the caller about a mass outage in his area (the identified
subscriber's city, else the line's city). Sets outage_message, outage_restore (local time)
and outage_area for the prompt, then goes to `active` (e.g. a "wait or leave" menu) or `none`."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.prompts import PromptRef
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    StepResult,
    StepType,
    play,
    read_prompts,
    targets_of,
)
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.schema_parts import StepSchema, node, prompt
from ivr.subscribers import Outage


async def find_outage(ctx: StepContext, service: str) -> Outage | None:
    """The active outage for the caller's area and `service` ("" = any); sets its vars."""
    line = ctx.call.line
    area = ctx.subscriber.city if ctx.subscriber else (line.city if line else "")
    if not area:
        return None
    outage = await ctx.directory.active_outage(area, service, ctx.now())
    if outage is not None:
        restore = outage.expected_restore
        local = ctx.library.calendar.local(restore) if restore else None
        ctx.vars.update(
            outage_area=outage.area,
            outage_message=outage.message,
            outage_restore=local.strftime("%H:%M") if local else "",
            outage_restore_date=local.strftime("%Y-%m-%d") if local else "",
        )
    return outage


@dataclass(frozen=True)
class OutageConfig:
    service: str  # "" = any
    prompt: tuple[PromptRef, ...]
    active: str
    none: str


class OutageNotice(StepType[OutageConfig]):
    keys = frozenset({"type", "service", "prompt", "active", "none"})
    prompt_keys = ("prompt",)
    shape = "shape=hexagon"
    schema = StepSchema(
        "Tell the caller about an outage in his area ({outage_area}, {outage_restore}...).",
        {
            "service": {"type": "string", "description": "internet, tv, ... (default: any)."},
            "prompt": prompt("Said when there is an outage."),
            "active": node("Where to go when there is an outage."),
            "none": node("Where to go when there is none."),
        },
        ("active", "none"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[OutageConfig]:
        said = read_prompts(spec, self.prompt_keys)
        service = spec.get("service", "")
        if not isinstance(service, str):
            raise FlowSpecError(("service",), "expected a service name (internet, tv, ...)")
        targets = targets_of(spec, "active", "none", required=("active", "none"))
        config = OutageConfig(service, said["prompt"], targets[("active",)], targets[("none",)])
        return Checked(config, targets, said.refs, said.every)

    def detail(self, config: OutageConfig) -> list[str]:
        return [config.service or "any service", shown(config.prompt)]

    async def run(self, node_id: str, config: OutageConfig, ctx: StepContext) -> StepResult:
        outage = await find_outage(ctx, config.service)
        if outage is None:
            ctx.path.append(f"{node_id}:none")
            return StepResult(next=config.none)
        await play(ctx, config.prompt)
        ctx.path.append(f"{node_id}:active")
        return StepResult(next=config.active)

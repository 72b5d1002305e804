"""outage: before queueing, tell the caller about a mass outage in his area (the identified
subscriber's city, else the line's city). Sets outage_message, outage_restore (local time)
and outage_area for the prompt, then goes to `active` (e.g. a "wait or leave" menu) or `none`."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import Outage, StepContext
from ivr.flow.steps.base import (
    Checked,
    FlowSpecError,
    StepResult,
    play,
    prompt_refs,
    prompts_of,
    target_of,
    targets_of,
)


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


class OutageNotice:
    keys = frozenset({"type", "service", "prompt", "active", "none"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        prompts_of(spec, "prompt")
        if not isinstance(spec.get("service", ""), str):
            raise FlowSpecError(("service",), "expected a service name (internet, tv, ...)")
        targets = targets_of(spec, "active", "none", required=("active", "none"))
        return Checked(targets, prompt_refs(spec, "prompt"))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        outage = await find_outage(ctx, str(spec.get("service", "")))
        if outage is None:
            ctx.path.append(f"{node_id}:none")
            return StepResult(next=target_of(spec, "none"))
        await play(ctx, spec, "prompt")
        ctx.path.append(f"{node_id}:active")
        return StepResult(next=target_of(spec, "active"))

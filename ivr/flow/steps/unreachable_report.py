"""unreachable_report: log a report that another service number did not work, against that
number (the line), with where the caller found it, the number he dialled from (default:
this call's caller number), the problem type and, when identified, his subscriber data."""

from collections.abc import Mapping
from typing import Any

from ivr.events.model import UnreachableReported
from ivr.flow.context import StepContext
from ivr.flow.steps.base import Checked, StepResult, target_of, targets_of, var_name
from ivr.flow.steps.records import required_value, value_of

VARIABLES = ("number", "published", "dialled_from", "problem", "details")


class UnreachableReport:
    keys = frozenset({"type", "next", *VARIABLES})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        for key in VARIABLES:
            var_name(spec, key, default=None if key in ("dialled_from", "details") else "")
        return Checked(targets_of(spec, "next", required=("next",)))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        who = ctx.subscriber
        ctx.record(
            UnreachableReported(
                call_id=ctx.call.call_id,
                reported_line=required_value(ctx, spec, "number", node_id),
                via_line=ctx.call.number,
                published=value_of(ctx, spec, "published"),
                dialled_from=value_of(ctx, spec, "dialled_from") or ctx.call.caller,
                problem=value_of(ctx, spec, "problem") or "other",
                caller=ctx.call.caller,
                subscriber_id=who.id if who else None,
                contract=who.contract if who else "",
                full_name=who.full_name if who else "",
                address=who.address if who else "",
                details=value_of(ctx, spec, "details"),
                at=ctx.now(),
            )
        )
        ctx.path.append(f"{node_id}:recorded")
        return StepResult(next=target_of(spec, "next"))

"""unreachable_report: log a report that another service number did not work, against that
number (the line), with where the caller found it, the number he dialled from (default:
this call's caller number), the problem type and, when identified, his subscriber data."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.events.model import UnreachableReported
from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    Checked,
    StepResult,
    StepType,
    required_var,
    targets_of,
    var_name,
)
from ivr.flow.steps.records import required_value, value_of
from ivr.flow.steps.schema_parts import StepSchema, node, var


@dataclass(frozen=True)
class ReportConfig:
    """The variables holding each part of the report (None: not given)."""

    number: str
    published: str
    dialled_from: str | None  # None: the caller's number
    problem: str
    details: str | None
    next: str


class UnreachableReport(StepType[ReportConfig]):
    keys = frozenset({"type", "next", "number", "published", "dialled_from", "problem", "details"})
    shape = "shape=component"
    schema = StepSchema(
        "Log a report that another of our numbers did not work, for the senior operator.",
        {
            "number": var("Variable with the number that did not work."),
            "published": var("Variable with where the caller found it."),
            "dialled_from": var("Variable with the number he dialled from (default: caller)."),
            "problem": var("Variable with the problem type."),
            "details": var("Variable with more details."),
            "next": node("The node after."),
        },
        ("number", "published", "problem", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[ReportConfig]:
        number, published = required_var(spec, "number"), required_var(spec, "published")
        dialled_from = var_name(spec, "dialled_from")
        problem, details = required_var(spec, "problem"), var_name(spec, "details")
        targets = targets_of(spec, "next", required=("next",))
        config = ReportConfig(number, published, dialled_from, problem, details, targets[("next",)])
        return Checked(config, targets)

    def detail(self, config: ReportConfig) -> list[str]:
        return [f"number {config.number}"]

    async def run(self, node_id: str, config: ReportConfig, ctx: StepContext) -> StepResult:
        who = ctx.subscriber
        ctx.record(
            UnreachableReported(
                call_id=ctx.call.call_id,
                reported_line=required_value(ctx, config.number, "number", node_id),
                via_line=ctx.call.number,
                published=value_of(ctx, config.published),
                dialled_from=value_of(ctx, config.dialled_from) or ctx.call.caller,
                problem=value_of(ctx, config.problem) or "other",
                caller=ctx.call.caller,
                subscriber_id=who.id if who else None,
                contract=who.contract if who else "",
                full_name=who.full_name if who else "",
                address=who.address if who else "",
                details=value_of(ctx, config.details),
                at=ctx.now(),
            )
        )
        ctx.path.append(f"{node_id}:recorded")
        return StepResult(next=config.next)

"""meter_reading: store a meter reading (self-service, 24/7) for the identified subscriber's
contract, or the contract in the variable named by `contract`."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.events.model import MeterReadingSubmitted
from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    Checked,
    StepResult,
    StepType,
    required_var,
    targets_of,
    var_name,
)
from ivr.flow.steps.records import StepFailed, required_value, value_of
from ivr.flow.steps.schema_parts import StepSchema, node, var


@dataclass(frozen=True)
class MeterReadingConfig:
    reading: str  # the variable with the reading
    contract: str | None  # the variable with the contract; None: the identified one
    next: str


class MeterReading(StepType[MeterReadingConfig]):
    keys = frozenset({"type", "reading", "contract", "next"})
    shape = "shape=component"
    schema = StepSchema(
        "Store a meter reading for the identified subscriber's contract.",
        {
            "reading": var("Variable with the reading."),
            "contract": var("Variable with the contract (default: the identified one)."),
            "next": node("The node after."),
        },
        ("reading", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[MeterReadingConfig]:
        reading, contract = required_var(spec, "reading"), var_name(spec, "contract")
        targets = targets_of(spec, "next", required=("next",))
        return Checked(MeterReadingConfig(reading, contract, targets[("next",)]), targets)

    def detail(self, config: MeterReadingConfig) -> list[str]:
        return [f"reading {config.reading}"]

    async def run(self, node_id: str, config: MeterReadingConfig, ctx: StepContext) -> StepResult:
        reading = required_value(ctx, config.reading, "reading", node_id)
        who = ctx.subscriber
        contract = value_of(ctx, config.contract) or (who.contract if who else "")
        if not contract:
            raise StepFailed(f"{node_id}: no contract for the meter reading")
        ctx.record(
            MeterReadingSubmitted(
                call_id=ctx.call.call_id,
                line=ctx.call.number,
                caller=ctx.call.caller,
                contract=contract,
                subscriber_id=who.id if who and who.contract == contract else None,
                reading=reading,
                at=ctx.now(),
            )
        )
        ctx.path.append(f"{node_id}:recorded")
        return StepResult(next=config.next)

"""meter_reading: store a meter reading (self-service, 24/7) for the identified subscriber's
contract, or the contract in the variable named by `contract`."""

from collections.abc import Mapping
from typing import Any

from ivr.events.model import MeterReadingSubmitted
from ivr.flow.context import StepContext
from ivr.flow.steps.base import Checked, StepResult, target_of, targets_of, var_name
from ivr.flow.steps.records import StepFailed, required_value, value_of


class MeterReading:
    keys = frozenset({"type", "reading", "contract", "next"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        var_name(spec, "reading", default="")
        var_name(spec, "contract")
        return Checked(targets_of(spec, "next", required=("next",)))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        reading = required_value(ctx, spec, "reading", node_id)
        who = ctx.subscriber
        contract = value_of(ctx, spec, "contract") or (who.contract if who else "")
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
        return StepResult(next=target_of(spec, "next"))

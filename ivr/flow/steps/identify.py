"""identify: find the caller in the subscriber store, by the number he calls from (ANI)
or by a contract number he entered. A recognised caller is never asked again."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext, Subscriber
from ivr.flow.steps.base import Checked, FlowSpecError, StepResult, target_of, targets_of
from ivr.routing.phone import callable_number

BY = ("phone", "contract")


def remember(ctx: StepContext, subscriber: Subscriber) -> None:
    """Keep the subscriber on the call and expose his data to prompts and later steps."""
    ctx.subscriber = subscriber
    ctx.vars.update(
        contract=subscriber.contract,
        subscriber_name=subscriber.full_name,
        subscriber_city=subscriber.city,
        region_office=subscriber.region_office,
    )


class Identify:
    keys = frozenset({"type", "by", "var", "found", "not_found"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        if spec.get("by", "phone") not in BY:
            raise FlowSpecError(("by",), f"expected one of {list(BY)}")
        if "var" in spec and spec.get("by") != "contract":
            raise FlowSpecError(
                ("var",), "only identify by: contract reads a variable", at_key=True
            )
        return Checked(targets_of(spec, "found", "not_found", required=("found", "not_found")))

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        subscriber = ctx.subscriber
        if subscriber is None and spec.get("by", "phone") == "phone":
            # withheld ("", "anonymous") or not a plain number ("380441234567,Phone" from a
            # SIP From user:password): nothing to look up, its digits identify nobody
            caller = ctx.call.caller
            known = callable_number(caller)
            subscriber = await ctx.directory.subscriber_by_phone(caller) if known else None
        elif subscriber is None:
            contract = ctx.vars.get(str(spec.get("var", "contract")), "")
            subscriber = await ctx.directory.subscriber_by_contract(contract) if contract else None
        if subscriber is None:
            ctx.path.append(f"{node_id}:not_found")
            return StepResult(next=target_of(spec, "not_found"))
        remember(ctx, subscriber)
        ctx.path.append(f"{node_id}:found")
        return StepResult(next=target_of(spec, "found"))

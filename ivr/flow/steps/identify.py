"""identify: find the caller in the subscriber store, by the number he calls from (ANI)
or by a contract number he entered. A recognised caller is never asked again."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import Checked, FlowSpecError, StepResult, StepType, targets_of
from ivr.flow.steps.schema_parts import StepSchema, node, var
from ivr.routing.phone import callable_number
from ivr.subscribers import Subscriber

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


@dataclass(frozen=True)
class IdentifyConfig:
    by: str  # phone | contract
    var: str  # by contract: the variable holding the contract
    found: str
    not_found: str


class Identify(StepType[IdentifyConfig]):
    keys = frozenset({"type", "by", "var", "found", "not_found"})
    shape = "shape=hexagon"
    schema = StepSchema(
        "Find the caller among subscribers: by his phone number, or a contract entered.",
        {
            "by": {"enum": list(BY), "description": "phone (default) or contract."},
            "var": var("With by: contract: the variable holding the contract (contract)."),
            "found": node("Where a recognised caller goes."),
            "not_found": node("Where an unknown caller goes."),
        },
        ("found", "not_found"),
        rules={
            "if": {"required": ["var"]},
            "then": {"required": ["by"], "properties": {"by": {"const": "contract"}}},
        },
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[IdentifyConfig]:
        by = spec.get("by", "phone")
        if by not in BY:
            raise FlowSpecError(("by",), f"expected one of {list(BY)}")
        if "var" in spec and by != "contract":
            raise FlowSpecError(
                ("var",), "only identify by: contract reads a variable", at_key=True
            )
        targets = targets_of(spec, "found", "not_found", required=("found", "not_found"))
        name = str(spec.get("var", "contract"))
        config = IdentifyConfig(by, name, targets[("found",)], targets[("not_found",)])
        return Checked(config, targets)

    def detail(self, config: IdentifyConfig) -> list[str]:
        return [f"by {config.by}"]

    async def run(self, node_id: str, config: IdentifyConfig, ctx: StepContext) -> StepResult:
        subscriber = ctx.subscriber
        if subscriber is None and config.by == "phone":
            # withheld ("", "anonymous") or not a plain number ("380441234567,Phone" from a
            # SIP From user:password): nothing to look up, its digits identify nobody
            caller = ctx.call.caller
            known = callable_number(caller)
            subscriber = await ctx.directory.subscriber_by_phone(caller) if known else None
        elif subscriber is None:
            contract = ctx.vars.get(config.var, "")
            subscriber = await ctx.directory.subscriber_by_contract(contract) if contract else None
        if subscriber is None:
            ctx.path.append(f"{node_id}:not_found")
            return StepResult(next=config.not_found)
        remember(ctx, subscriber)
        ctx.path.append(f"{node_id}:found")
        return StepResult(next=config.found)

"""callback: record a callback request with the promised interval, tell the caller when.

Sets callback_by (local HH:MM, with the day when it is not today) and callback_minutes
for the prompt. The phone is the variable named by `phone`, else the caller's number;
when that is not a number the dialler may ring (withheld, invalid), `on_fail` (or, if the
flow has none, the dialplan's fallback to an operator): the flow there tells him why."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ivr.events.model import CallbackRequested
from ivr.flow.context import StepContext
from ivr.flow.steps.base import (
    Checked,
    Ref,
    StepResult,
    name_of,
    number_of,
    play,
    prompt_refs,
    prompts_of,
    target_of,
    targets_of,
    var_name,
)
from ivr.flow.steps.records import StepFailed, value_of
from ivr.routing.phone import callable_number

MAX_WITHIN = 7 * 24 * 60  # minutes: a week


def within_of(spec: Mapping[str, Any]) -> float:
    """Minutes within which the caller is called back."""
    return number_of(spec, "within", 60, minimum=1, maximum=MAX_WITHIN)


class Callback:
    keys = frozenset({"type", "within", "queue", "class", "phone", "prompt", "next", "on_fail"})

    def check(self, spec: Mapping[str, Any]) -> Checked:
        within_of(spec)
        var_name(spec, "phone")
        prompts_of(spec, "prompt")
        refs = [
            Ref("queue", name_of(spec, "queue"), ("queue",)),
            Ref("class", name_of(spec, "class"), ("class",)),
            *prompt_refs(spec, "prompt"),
        ]
        return Checked(targets_of(spec, "next", "on_fail", required=("next",)), refs)

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        phone = value_of(ctx, spec, "phone") or ctx.call.caller
        if not callable_number(phone):  # withheld, or not a number a carrier can ring
            ctx.path.append(f"{node_id}:no_phone")
            if "on_fail" not in spec:
                raise StepFailed(f"{node_id}: no number to call back")
            return StepResult(next=target_of(spec, "on_fail"))
        minutes = within_of(spec)
        promised_by = ctx.now() + timedelta(minutes=minutes)
        ctx.record(
            CallbackRequested(
                call_id=ctx.call.call_id,
                line=ctx.call.number,
                phone=phone,
                name=ctx.subscriber.full_name if ctx.subscriber else "",
                queue=name_of(spec, "queue"),
                caller_class=name_of(spec, "class"),
                promised_by=promised_by,
                at=ctx.now(),
            )
        )
        by, today = ctx.library.calendar.local(promised_by), ctx.library.calendar.local(ctx.now())
        ctx.vars.update(
            # A promise past midnight says the day too ("25.11 09:30").
            callback_by=by.strftime("%H:%M" if by.date() == today.date() else "%d.%m %H:%M"),
            callback_minutes=f"{minutes:g}",
        )
        await play(ctx, spec, "prompt")
        ctx.path.append(f"{node_id}:requested")
        return StepResult(next=target_of(spec, "next"))

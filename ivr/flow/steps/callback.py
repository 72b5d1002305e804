"""callback: record a callback request with the promised interval, tell the caller when.

Sets callback_by (local HH:MM, with the day when it is not today) and callback_minutes
for the prompt. The phone is the variable named by `phone`, else the caller's number;
when that is not a number the dialler may ring (withheld, invalid), `on_fail` (or, if the
flow has none, the dialplan's fallback to an operator): the flow there tells him why."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ivr.events.model import CallbackRequested
from ivr.flow.context import StepContext
from ivr.flow.prompts import PromptRef
from ivr.flow.steps.base import (
    Checked,
    Ref,
    StepResult,
    StepType,
    name_of,
    number_of,
    play,
    read_prompts,
    targets_of,
    var_name,
)
from ivr.flow.steps.records import StepFailed, value_of
from ivr.flow.steps.schema_parts import CLASS, QUEUE, StepSchema, node, number, prompt, var
from ivr.routing.phone import callable_number

MAX_WITHIN = 7 * 24 * 60  # minutes: a week


@dataclass(frozen=True)
class CallbackConfig:
    within: float  # minutes within which the caller is called back
    phone: str | None  # the variable with the number to call; None: the caller's
    prompt: tuple[PromptRef, ...]
    queue: str
    caller_class: str
    next: str
    on_fail: str | None  # None: the dialplan's fallback


class Callback(StepType[CallbackConfig]):
    keys = frozenset({"type", "within", "queue", "class", "phone", "prompt", "next", "on_fail"})
    prompt_keys = ("prompt",)
    shape = "shape=component"
    schema = StepSchema(
        "Record a callback request; {callback_by} in the prompt says by when.",
        {
            "within": number(
                f"Minutes within which to call back (default 60, at most {MAX_WITHIN}).",
                1,
                MAX_WITHIN,
            ),
            "queue": QUEUE,
            "class": CLASS,
            "phone": var("Variable with the number to call (default: the caller's)."),
            "prompt": prompt("Said after the request is recorded."),
            "next": node("The node after."),
            "on_fail": node("Where to go with no number to call back (else: fallback)."),
        },
        ("queue", "class", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[CallbackConfig]:
        within = number_of(spec, "within", 60, minimum=1, maximum=MAX_WITHIN)
        phone = var_name(spec, "phone")
        said = read_prompts(spec, self.prompt_keys)
        queue, caller_class = name_of(spec, "queue"), name_of(spec, "class")
        refs = [Ref("queue", queue, ("queue",)), Ref("class", caller_class, ("class",))]
        targets = targets_of(spec, "next", "on_fail", required=("next",))
        config = CallbackConfig(
            within,
            phone,
            said["prompt"],
            queue,
            caller_class,
            targets[("next",)],
            targets.get(("on_fail",)),
        )
        return Checked(config, targets, refs + said.refs, said.every)

    def detail(self, config: CallbackConfig) -> list[str]:
        return [f"queue {config.queue}", f"class {config.caller_class}"]

    async def run(self, node_id: str, config: CallbackConfig, ctx: StepContext) -> StepResult:
        phone = value_of(ctx, config.phone) or ctx.call.caller
        if not callable_number(phone):  # withheld, or not a number a carrier can ring
            ctx.path.append(f"{node_id}:no_phone")
            if config.on_fail is None:
                raise StepFailed(f"{node_id}: no number to call back")
            return StepResult(next=config.on_fail)
        promised_by = ctx.now() + timedelta(minutes=config.within)
        ctx.record(
            CallbackRequested(
                call_id=ctx.call.call_id,
                line=ctx.call.number,
                phone=phone,
                name=ctx.subscriber.full_name if ctx.subscriber else "",
                queue=config.queue,
                caller_class=config.caller_class,
                promised_by=promised_by,
                at=ctx.now(),
            )
        )
        by, today = ctx.library.calendar.local(promised_by), ctx.library.calendar.local(ctx.now())
        ctx.vars.update(
            # A promise past midnight says the day too ("25.11 09:30").
            callback_by=by.strftime("%H:%M" if by.date() == today.date() else "%d.%m %H:%M"),
            callback_minutes=f"{config.within:g}",
        )
        await play(ctx, config.prompt)
        ctx.path.append(f"{node_id}:requested")
        return StepResult(next=config.next)

"""callback: record a callback request with the promised interval, tell the caller when.

With `hours` (a schedule of calendar.yaml) the interval counts its open time only: a
request after hours is dialled from the next opening and promised that opening plus the
interval (ivr.flow.callback_window), and the caller hears `later_prompt` if given. Sets
callback_by and callback_from (the first dial; local HH:MM, with the day when it is not
today) and callback_minutes for the prompt; the request keeps the call's language.
The phone is the variable named by `phone`, else the caller's number; when that is not a
number the dialler may ring (withheld, invalid), `on_fail` (or, if the flow has none, the
dialplan's fallback to an operator): the flow there tells him why."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ivr.events.model import CallbackRequested
from ivr.flow.callback_window import promise_window, said_time
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
from ivr.flow.steps.schema_parts import (
    CLASS,
    QUEUE,
    StepSchema,
    node,
    number,
    prompt,
    text,
    var,
)
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
    hours: str | None = None  # a calendar schedule: dialled and promised in its open time
    later_prompt: tuple[PromptRef, ...] = ()  # said instead of `prompt` after hours


class Callback(StepType[CallbackConfig]):
    keys = frozenset(
        {"type", "within", "queue", "class", "phone", "prompt", "next", "on_fail"}
        | {"hours", "later_prompt"}
    )
    prompt_keys = ("prompt", "later_prompt")
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
            "hours": text("A schedule in calendar.yaml: called back in its open hours only."),
            "later_prompt": prompt("Said instead of prompt after hours ({callback_from})."),
        },
        ("queue", "class", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[CallbackConfig]:
        within = number_of(spec, "within", 60, minimum=1, maximum=MAX_WITHIN)
        phone = var_name(spec, "phone")
        said = read_prompts(spec, self.prompt_keys)
        queue, caller_class = name_of(spec, "queue"), name_of(spec, "class")
        refs = [Ref("queue", queue, ("queue",)), Ref("class", caller_class, ("class",))]
        hours = name_of(spec, "hours") if "hours" in spec else None
        if hours is not None:
            refs.append(Ref("schedule", hours, ("hours",)))
        targets = targets_of(spec, "next", "on_fail", required=("next",))
        config = CallbackConfig(
            within,
            phone,
            said["prompt"],
            queue,
            caller_class,
            targets[("next",)],
            targets.get(("on_fail",)),
            hours,
            said["later_prompt"],
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
        now, calendar = ctx.now(), ctx.library.calendar
        window = promise_window(calendar, config.hours, now, timedelta(minutes=config.within))
        ctx.record(
            CallbackRequested(
                call_id=ctx.call.call_id,
                line=ctx.call.number,
                phone=phone,
                name=ctx.subscriber.full_name if ctx.subscriber else "",
                queue=config.queue,
                caller_class=config.caller_class,
                promised_by=window.promised_by,
                at=now,
                language=ctx.language,
                dial_from=window.opens_at,
            )
        )
        ctx.vars.update(
            callback_by=said_time(calendar, window.promised_by, now),
            callback_from=said_time(calendar, window.dial_from, now),
            callback_minutes=f"{config.within:g}",
        )
        later = window.after_hours and config.later_prompt
        await play(ctx, config.later_prompt if later else config.prompt)
        ctx.path.append(f"{node_id}:requested")
        return StepResult(next=config.next)

"""Shared by the steps that record something: the values of the variables a node names."""

from ivr.flow.context import StepContext


class StepFailed(RuntimeError):
    """The step cannot do its job for this call (a variable it needs is empty); the runner
    ends the menu and the dialplan's fallback sends the caller to an operator."""


def value_of(ctx: StepContext, name: str | None, default: str = "") -> str:
    """The value of the variable `name` ("" when unset), `default` when the node names none."""
    return ctx.vars.get(name, "") if name else default


def required_value(ctx: StepContext, name: str, key: str, node_id: str) -> str:
    """The value of the variable `name` (the node's `key`); StepFailed when it is empty."""
    value = value_of(ctx, name)
    if not value:
        raise StepFailed(f"{node_id}: variable {name!r} ({key}) is empty")
    return value

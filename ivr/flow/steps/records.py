"""Shared by the steps that record something: the values of variables named in the spec."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.context import StepContext
from ivr.flow.steps.base import var_name


class StepFailed(RuntimeError):
    """The step cannot do its job for this call (a variable it needs is empty); the runner
    ends the menu and the dialplan's fallback sends the caller to an operator."""


def value_of(ctx: StepContext, spec: Mapping[str, Any], key: str, default: str = "") -> str:
    name = var_name(spec, key)
    return ctx.vars.get(name, "") if name else default


def required_value(ctx: StepContext, spec: Mapping[str, Any], key: str, node_id: str) -> str:
    value = value_of(ctx, spec, key)
    if not value:
        raise StepFailed(f"{node_id}: variable {spec.get(key)!r} ({key}) is empty")
    return value

"""route: end the menu and send the caller to a queue as a caller class."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import FlowSpecError, KeyPath, RouteRequest, StepContext, StepResult


def _text(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise FlowSpecError((key,), "expected a name")
    return value


class Route:
    keys = frozenset({"type", "queue", "class"})

    def check(self, spec: Mapping[str, Any]) -> dict[KeyPath, str]:
        _text(spec, "queue")
        _text(spec, "class")
        return {}

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        return StepResult(route=RouteRequest(_text(spec, "queue"), _text(spec, "class")))

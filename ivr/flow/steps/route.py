"""route: end the menu and send the caller to a queue as a caller class."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import FlowSpecError, RouteRequest, StepContext, StepResult


def _text(spec: Mapping[str, Any], key: str, node_id: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise FlowSpecError(f"node {node_id!r}: {key}: expected a name")
    return value


class Route:
    def check(self, node_id: str, spec: Mapping[str, Any]) -> list[str]:
        _text(spec, "queue", node_id)
        _text(spec, "class", node_id)
        return []

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult:
        return StepResult(
            route=RouteRequest(_text(spec, "queue", node_id), _text(spec, "class", node_id))
        )

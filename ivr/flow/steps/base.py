"""The contract every step type implements."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.flow.port import CallPort


class FlowSpecError(ValueError):
    """A node's spec is malformed; the message names the key."""


@dataclass(frozen=True)
class RouteRequest:
    queue: str
    caller_class: str


@dataclass
class StepContext:
    port: CallPort
    path: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepResult:
    next: str | None = None
    route: RouteRequest | None = None


class StepType(Protocol):
    def check(self, node_id: str, spec: Mapping[str, Any]) -> list[str]:
        """Node ids this node can go to; raises FlowSpecError on a bad spec."""
        ...

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult: ...


def prompts_of(spec: Mapping[str, Any], key: str, node_id: str) -> tuple[str, ...]:
    value = spec.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise FlowSpecError(f"node {node_id!r}: {key}: expected a prompt name or a list of them")


def target_of(spec: Mapping[str, Any], key: str, node_id: str, required: bool = True) -> str | None:
    value = spec.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise FlowSpecError(f"node {node_id!r}: {key}: expected a node id")
    return value

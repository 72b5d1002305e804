"""The contract every step type implements."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.flow.port import CallPort

KeyPath = tuple[str, ...]


class FlowSpecError(ValueError):
    """A node's spec is malformed at `key` (a path inside the node); `at_key` when the key
    itself, not its value, is wrong."""

    def __init__(self, key: KeyPath, message: str, *, at_key: bool = False) -> None:
        super().__init__(f"{'.'.join(key)}: {message}")
        self.key = key
        self.message = message
        self.at_key = at_key


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
    keys: frozenset[str]  # the keys a node of this type may have, `type` included

    def check(self, spec: Mapping[str, Any]) -> dict[KeyPath, str]:
        """The node ids this node can go to, by the key naming each; raises FlowSpecError."""
        ...

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult: ...


def prompts_of(spec: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = spec.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise FlowSpecError((key,), "expected a prompt name or a list of them")


def target_of(spec: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = spec.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise FlowSpecError((key,), "expected a node id")
    return value

"""Call flows as frozen models: lines (DIDs) and the flows they enter."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ivr.flow.calendar import ALWAYS, Calendar
from ivr.flow.prompts import EMPTY_CATALOG, PromptCatalog

if TYPE_CHECKING:  # the step types run on this model
    from ivr.flow.steps.base import Checked, StepType


class Sphere(StrEnum):
    CONNECTIONS = "connections"
    AUDIT = "audit"
    SERVICE = "service"


@dataclass(frozen=True)
class Line:
    """A published service number and what it says about the call."""

    number: str
    sphere: Sphere
    city: str
    published: str
    flow: str
    language: str = ""  # the callers' usual language; "" = the prompts' default


@dataclass(frozen=True)
class Node:
    """One step of a flow. `type` names its module in ivr/flow/steps/, `step` is that step
    type, `checked` what it read from `spec` at load time (its config, where it goes)."""

    id: str
    type: str
    spec: Mapping[str, Any]
    step: "StepType[Any]"
    checked: "Checked[Any]"


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    nodes: Mapping[str, Node]


@dataclass(frozen=True)
class FlowLibrary:
    flows: Mapping[str, Flow]
    lines: Mapping[str, Line]
    default_flow: str
    prompts: PromptCatalog = EMPTY_CATALOG
    calendar: Calendar = ALWAYS

    def flow_for(self, number: str) -> tuple[Line | None, Flow]:
        """The line's flow, or the default flow for a number nobody configured."""
        line = self.lines.get(number)
        return line, self.flows[line.flow if line else self.default_flow]

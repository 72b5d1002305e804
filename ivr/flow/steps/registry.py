"""Step types by their `type:` name in flow files (the name equals the module's name)."""

from collections.abc import Mapping

from ivr.flow.steps.base import StepType
from ivr.flow.steps.menu import Menu
from ivr.flow.steps.play import Play
from ivr.flow.steps.route import Route

STEP_TYPES: Mapping[str, StepType] = {
    "play": Play(),
    "menu": Menu(),
    "route": Route(),
}

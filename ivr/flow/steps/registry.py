"""Step types by their `type:` name in flow files (the name equals the module's name).

Each module holds all of its type (see StepType in base.py): adding a type is its module,
its line here and its test."""

from collections.abc import Mapping
from typing import Any

from ivr.flow.steps.base import StepType
from ivr.flow.steps.callback import Callback
from ivr.flow.steps.choose import Choose
from ivr.flow.steps.collect import Collect
from ivr.flow.steps.condition import Condition
from ivr.flow.steps.goto import Goto
from ivr.flow.steps.hangup import Hangup
from ivr.flow.steps.identify import Identify
from ivr.flow.steps.language import Language
from ivr.flow.steps.menu import Menu
from ivr.flow.steps.meter_reading import MeterReading
from ivr.flow.steps.outage import OutageNotice
from ivr.flow.steps.play import Play
from ivr.flow.steps.route import Route
from ivr.flow.steps.set import Set
from ivr.flow.steps.unreachable_report import UnreachableReport

StepTypes = Mapping[str, StepType[Any]]

STEP_TYPES: StepTypes = {
    "play": Play(),
    "menu": Menu(),
    "choose": Choose(),
    "collect": Collect(),
    "identify": Identify(),
    "condition": Condition(),
    "set": Set(),
    "language": Language(),
    "goto": Goto(),
    "route": Route(),
    "callback": Callback(),
    "unreachable_report": UnreachableReport(),
    "meter_reading": MeterReading(),
    "outage": OutageNotice(),
    "hangup": Hangup(),
}

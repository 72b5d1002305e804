"""Building blocks of the flow JSON Schema (`ivr flow schema`): each step type describes its
node with a StepSchema made of these; ivr/flow/schema.py puts them together."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.flow.calendar import DAYS

Schema = dict[str, Any]


@dataclass(frozen=True)
class StepSchema:
    """A step type's part of the flow schema: what it does, the schema of each of its keys
    but `type`, the keys it needs, conditions its keys cannot say one by one (if/then/else)
    and the $defs its keys refer to."""

    description: str
    properties: Mapping[str, Schema]
    required: tuple[str, ...] = ()
    rules: Mapping[str, Any] = field(default_factory=dict)
    defs: Mapping[str, Schema] = field(default_factory=dict)


def ref(name: str, description: str = "") -> Schema:
    out: Schema = {"$ref": f"#/$defs/{name}"}
    return {**out, "description": description} if description else out


def node(description: str) -> Schema:
    return ref("node_id", description)


def prompt(description: str = "What the caller hears.") -> Schema:
    return ref("prompt", description)


def var(description: str) -> Schema:
    return ref("variable", description)


def number(description: str, minimum: float, maximum: float, *, whole: bool = False) -> Schema:
    kind = "integer" if whole else "number"
    return {"type": kind, "minimum": minimum, "maximum": maximum, "description": description}


def text(description: str, **more: Any) -> Schema:
    return {"type": "string", "minLength": 1, "description": description, **more}


def matching(regex: str, message: str, description: str = "") -> Schema:
    """Text matching `regex`; editors say `message` (patternErrorMessage) when it does not."""
    out: Schema = {"type": "string", "pattern": regex, "patternErrorMessage": message}
    return {**out, "description": description} if description else out


def options(value: Schema, description: str) -> Schema:
    return {
        "type": "object",
        "minProperties": 1,
        "propertyNames": matching("^[0-9*#]$", "A key is one of 0-9, * and #."),
        "additionalProperties": value,
        "description": description + ' Quote the keys: "1": ...',
    }


QUEUE = text("Queue the caller waits in (queues.yaml).")
CLASS = text("Caller class: decides priority in the queue (queues.yaml caller_classes).")


def _either(word: str) -> str:
    """A regular expression matching `word` in any case (no flags in JSON Schema)."""
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


_DAY = f"({'|'.join(_either(d) for d in DAYS)})"
_SPAN = f"{_DAY}(-{_DAY})?"
DAYS_PATTERN = (
    rf"^\s*(({'|'.join(_either(a) for a in ('daily', 'weekdays', 'weekends'))})"
    rf"|{_SPAN}(\s*,\s*{_SPAN})*)\s*$"
)
TIME_RANGE = matching(
    r"^\s*[0-9]{1,2}:[0-9]{2}\s*-\s*[0-9]{1,2}:[0-9]{2}\s*$",
    'Expected hours like "08:00-22:00".',
    'Hours like "08:00-22:00" (quote them); "22:00-08:00" runs overnight.',
)
DAYS_TEXT = "Days like mon-fri, sat,sun, daily, weekdays or weekends."
YES_NO = {"type": "boolean", "description": "true or false."}

"""JSON Schemas of flows/'s other files (lines, prompts, calendar) for editors; all of
them, the flow's included, by name for `ivr flow schema --file`."""

from collections.abc import Callable, Mapping

from ivr.flow.model import Sphere
from ivr.flow.schema import PROMPT_DEFS, document, flow_schema
from ivr.flow.steps.schema_parts import DAYS_PATTERN, TIME_RANGE, Schema, matching, ref, text

LINE_SCHEMAS: Mapping[str, Schema] = {
    "number": {
        **matching(r"^\s*[0-9]+\s*$", 'Expected the dialled digits, e.g. "5551000".'),
        "type": ["string", "integer"],
        "minimum": 0,
        "description": 'The dialled digits (DID); quote them: "5551000".',
    },
    "sphere": {
        "enum": [s.value for s in Sphere],
        "description": "connections (new service), audit, service (existing subscribers).",
    },
    "city": {"type": "string", "description": "The line's city (outages, condition city)."},
    "published": {"type": "string", "description": "Where it was published: site, bill..."},
    "flow": text("The flow callers of this number enter."),
    "language": {"type": "string", "description": "The callers' usual language (prompts.yaml)."},
}


def lines_schema() -> Schema:
    """lines.yaml: the default flow and the published numbers (lines.csv rows alike)."""
    line = {
        "type": "object",
        "properties": dict(LINE_SCHEMAS),
        "required": ["number", "sphere", "flow"],
        "additionalProperties": False,
    }
    body = {
        "type": "object",
        "properties": {
            "default_flow": text("The flow for numbers not listed here."),
            "lines": {"type": "array", "items": ref("line"), "description": "Published numbers."},
        },
        "required": ["default_flow", "lines"],
        "additionalProperties": False,
    }
    return document("IVR lines (flows/lines.yaml)", body, {"line": line})


def prompts_schema() -> Schema:
    """prompts.yaml: the languages and the named prompts in each."""
    body = {
        "type": "object",
        "properties": {
            "languages": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1},
                "description": "Language codes callers can choose, e.g. [uk, ru, en].",
            },
            "default_language": text("Heard when a prompt lacks the caller's language."),
            "prompts": {
                "type": "object",
                "additionalProperties": ref("versions"),
                "description": "Prompt name -> its text per language, or {sound: file}.",
            },
        },
        "required": ["languages"],
        "additionalProperties": False,
    }
    return document("IVR prompts (flows/prompts.yaml)", body, dict(PROMPT_DEFS))


def calendar_schema() -> Schema:
    """calendar.yaml: time zone, holidays and named weekly schedules."""
    hours = {"anyOf": [TIME_RANGE, {"type": "array", "minItems": 1, "items": TIME_RANGE}]}
    schedule = {
        "type": "object",
        "minProperties": 1,
        "properties": {
            "holidays": {"enum": ["open", "closed"], "description": "Open on holidays? (closed)"}
        },
        "patternProperties": {DAYS_PATTERN: hours},
        "additionalProperties": False,
        "description": 'Days -> hours, e.g. {mon-sat: "08:00-22:00"}.',
    }
    body = {
        "type": "object",
        "properties": {
            "timezone": text("The time zone of the hours, e.g. Europe/Kyiv (default UTC)."),
            "holidays": {
                "type": "array",
                "items": matching(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "Expected a date: 2026-12-25."),
                "description": "Dates (YYYY-MM-DD) when schedules are closed.",
            },
            "schedules": {
                "type": "object",
                "additionalProperties": ref("schedule"),
                "description": "Schedule name -> its hours; a condition's open test names it.",
            },
        },
        "additionalProperties": False,
    }
    return document("IVR calendar (flows/calendar.yaml)", body, {"schedule": schedule})


SCHEMAS: Mapping[str, Callable[[], Schema]] = {
    "flow": flow_schema,
    "lines": lines_schema,
    "prompts": prompts_schema,
    "calendar": calendar_schema,
}

"""`ivr flow schema`: JSON Schemas (draft 2020-12) of the files in flows/, for editors.

With a schema, an editor (VS Code with the YAML extension, any yaml-language-server) offers
a node's keys as you type, explains each on hover and underlines mistakes before
`ivr flow validate` runs. A node is checked against the schema of its `type` (one `oneOf`
alternative per type, told apart by `type`'s `const`). The loader stays the judge: it also
checks names (prompts, queues, nodes) that a schema cannot know.
"""

from collections.abc import Mapping
from typing import Any

from ivr.flow.calendar import DAYS
from ivr.flow.model import Sphere
from ivr.flow.steps.base import MAX_RETRIES, MAX_TIMEOUT, MIN_TIMEOUT
from ivr.flow.steps.callback import MAX_WITHIN
from ivr.flow.steps.collect import MAX_DIGITS
from ivr.flow.steps.identify import BY

Schema = dict[str, Any]
DRAFT = "https://json-schema.org/draft/2020-12/schema"


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


ASKING: Mapping[str, Schema] = {
    "prompt": prompt("What the caller hears before pressing keys."),
    "invalid_prompt": prompt("Played after a wrong entry, before asking again."),
    "timeout": number(
        "Seconds to wait for the caller's keys (default 5).", MIN_TIMEOUT, MAX_TIMEOUT
    ),
    "retries": number(
        "How many more times to ask after a timeout or wrong entry (2).",
        0,
        MAX_RETRIES,
        whole=True,
    ),
}
QUEUE = text("Queue the caller waits in (queues.yaml).")
CLASS = text("Caller class: decides priority in the queue (queues.yaml caller_classes).")

# Per step type: (what it does, its keys, the keys it needs). A test checks the keys
# against each step's `keys` in ivr/flow/steps/registry.py.
STEPS: Mapping[str, tuple[str, Mapping[str, Schema], tuple[str, ...]]] = {
    "play": (
        "Say one or more prompts, then go on.",
        {"prompt": prompt(), "next": node("The node after the prompts.")},
        ("next",),
    ),
    "menu": (
        "A prompt, then one key per option; asks again on a timeout or a wrong key.",
        {
            **ASKING,
            "options": options(node("Node for this key."), "Key -> node to go to."),
            "on_timeout": node("Where to go when the caller pressed nothing."),
            "on_invalid": node("Where to go after too many wrong keys."),
        },
        ("options", "on_timeout", "on_invalid"),
    ),
    "choose": (
        "The caller picks one of several values with a key; it goes into a variable.",
        {
            **ASKING,
            "var": var("The variable that gets the chosen value."),
            "options": options(text("Value stored for this key."), "Key -> value."),
            "next": node("The node after a choice."),
            "on_fail": node("Where to go when the caller chose nothing valid."),
        },
        ("var", "options", "next", "on_fail"),
    ),
    "collect": (
        "Read digits into a variable (contract, meter reading, phone); # ends early.",
        {
            **ASKING,
            "var": var("The variable that gets the digits."),
            "min_digits": number("Fewest digits accepted (default 1).", 1, MAX_DIGITS, whole=True),
            "max_digits": number(
                f"Most digits accepted (default min_digits, at most {MAX_DIGITS}).",
                1,
                MAX_DIGITS,
                whole=True,
            ),
            "pattern": text("A regular expression the digits must match, e.g. ^0[0-9]+$."),
            "next": node("The node after a valid entry."),
            "on_fail": node("Where to go when no valid entry came."),
        },
        ("var", "next", "on_fail"),
    ),
    "identify": (
        "Find the caller among subscribers: by his phone number, or a contract entered.",
        {
            "by": {"enum": list(BY), "description": "phone (default) or contract."},
            "var": var("With by: contract: the variable holding the contract (contract)."),
            "found": node("Where a recognised caller goes."),
            "not_found": node("Where an unknown caller goes."),
        },
        ("found", "not_found"),
    ),
    "condition": (
        "The first case whose tests all hold decides the next node, else `else`.",
        {
            "cases": {
                "type": "array",
                "minItems": 1,
                "items": ref("case"),
                "description": "Checked in order: {if: {tests}, then: node}.",
            },
            "else": node("Where to go when no case holds."),
        },
        ("cases", "else"),
    ),
    "set": (
        "Give variables values ({name} inserts another variable), then go on.",
        {
            "vars": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": ref("variable"),
                "additionalProperties": {"type": ["string", "number"]},
                "description": 'Variable -> value, e.g. {dialled_from: "{caller}"}.',
            },
            "next": node("The node after."),
        },
        ("vars", "next"),
    ),
    "language": (
        "The caller picks the language of the prompts that follow, one key each.",
        {
            **ASKING,
            "options": options(text("Language code (prompts.yaml languages)."), "Key -> language."),
            "next": node("The node after (also after no choice)."),
        },
        ("options", "next"),
    ),
    "goto": (
        "Go on at another node, or at the start of another flow (needs node or flow).",
        {
            "node": node("A node of this flow."),
            "flow": text("Another flow's name: its start node comes next."),
        },
        (),
    ),
    "route": (
        "End the menu: the caller waits in a queue for an operator.",
        {"queue": QUEUE, "class": CLASS, "prompt": prompt("Said before queueing.")},
        ("queue", "class"),
    ),
    "callback": (
        "Record a callback request; {callback_by} in the prompt says by when.",
        {
            "within": number(
                f"Minutes within which to call back (default 60, at most {MAX_WITHIN}).",
                1,
                MAX_WITHIN,
            ),
            "queue": QUEUE,
            "class": CLASS,
            "phone": var("Variable with the number to call (default: the caller's)."),
            "prompt": prompt("Said after the request is recorded."),
            "next": node("The node after."),
            "on_fail": node("Where to go with no number to call back (else: fallback)."),
        },
        ("queue", "class", "next"),
    ),
    "unreachable_report": (
        "Log a report that another of our numbers did not work, for the senior operator.",
        {
            "number": var("Variable with the number that did not work."),
            "published": var("Variable with where the caller found it."),
            "dialled_from": var("Variable with the number he dialled from (default: caller)."),
            "problem": var("Variable with the problem type."),
            "details": var("Variable with more details."),
            "next": node("The node after."),
        },
        ("number", "published", "problem", "next"),
    ),
    "meter_reading": (
        "Store a meter reading for the identified subscriber's contract.",
        {
            "reading": var("Variable with the reading."),
            "contract": var("Variable with the contract (default: the identified one)."),
            "next": node("The node after."),
        },
        ("reading", "next"),
    ),
    "outage": (
        "Tell the caller about an outage in his area ({outage_area}, {outage_restore}...).",
        {
            "service": {"type": "string", "description": "internet, tv, ... (default: any)."},
            "prompt": prompt("Said when there is an outage."),
            "active": node("Where to go when there is an outage."),
            "none": node("Where to go when there is none."),
        },
        ("active", "none"),
    ),
    "hangup": ("Say goodbye (optional prompt) and end the call.", {"prompt": prompt()}, ()),
}

# Conditions a node's keys cannot say one by one.
RULES: Mapping[str, Schema] = {
    "goto": {  # exactly one of node and flow (worded so editors say which key is wrong)
        "if": {"required": ["node"]},
        "then": {"properties": {"flow": False}},
        "else": {"required": ["flow"]},
    },
    "identify": {
        "if": {"required": ["var"]},
        "then": {"required": ["by"], "properties": {"by": {"const": "contract"}}},
    },
}


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
TEST_SCHEMAS: Mapping[str, Schema] = {
    "open": text("A schedule in calendar.yaml: holds while it is open."),
    "time": TIME_RANGE,
    "days": matching(DAYS_PATTERN, f"Expected d{DAYS_TEXT[1:]}", DAYS_TEXT),
    "holiday": {**YES_NO, "description": "Whether today is a holiday in calendar.yaml."},
    "caller": {"enum": ["known", "new"], "description": "known: found among subscribers."},
    "sphere": {"enum": [s.value for s in Sphere], "description": "The dialled line's sphere."},
    "city": text("The dialled line's city."),
    "language": text("The caller's language (prompts.yaml languages)."),
    "outage": {**YES_NO, "description": "Whether there is an outage in the caller's area."},
    "var": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"type": ["string", "integer", "array"]},
        "description": 'Variable -> value or [values]; "" matches an unset variable.',
    },
}


def step_schema(kind: str) -> Schema:
    """The schema of a node of type `kind`: its keys and no others."""
    description, keys, required = STEPS[kind]
    kind_schema = {"const": kind, "description": description}
    return {
        "type": "object",
        "title": f"{kind} node",
        "description": description,
        "properties": {"type": kind_schema, **keys},
        "required": ["type", *required],
        "additionalProperties": False,
        **RULES.get(kind, {}),
    }


_TEXT = matching(r"\S", "Expected some text to say.", "Text espeak-ng says; {var} fills in.")
_SOUND = {
    "type": "object",
    "properties": {"sound": text("An Asterisk sound file, e.g. custom/welcome.")},
    "required": ["sound"],
    "additionalProperties": False,
}
_VARIANT = {"anyOf": [ref("text"), ref("sound")]}
_VERSIONS = {
    "anyOf": [
        ref("sound"),
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": ref("variant"),
            "description": "Language -> text or {sound: name}, e.g. {uk: ..., en: ...}.",
        },
    ]
}
_PROMPT_ITEM = {
    "anyOf": [
        text("A prompt's name in prompts.yaml."),
        {
            "type": "object",
            "properties": {"say": {"anyOf": [ref("text"), ref("versions")]}},
            "required": ["say"],
            "additionalProperties": False,
            "description": "Text said right here: {say: text} or {say: {uk: ..., en: ...}}.",
        },
        ref("sound"),
    ]
}
PROMPT_DEFS: Schema = {
    "text": _TEXT,
    "sound": _SOUND,
    "variant": _VARIANT,
    "versions": _VERSIONS,
}


def document(title: str, body: Schema, defs: Schema) -> Schema:
    return {"$schema": DRAFT, "title": title, **body, "$defs": defs}


def flow_schema() -> Schema:
    """One flow file: name, start and its nodes."""
    defs: Schema = {
        "node_id": {"type": "string", "minLength": 1, "description": "A node of this flow."},
        "variable": matching(
            r"^[A-Za-z_\u00C0-\uFFFF][0-9A-Za-z_\u00C0-\uFFFF]*$",
            "A variable's name is letters, digits and _ (not first).",
            "A variable's name (letters, digits, _).",
        ),
        **PROMPT_DEFS,
        "prompt_item": _PROMPT_ITEM,
        "prompt": {
            "anyOf": [ref("prompt_item"), {"type": "array", "items": ref("prompt_item")}],
            "description": "A prompt name, {say: text}, {sound: file}, or a list of those.",
        },
        "case": {
            "type": "object",
            "properties": {"if": ref("tests"), "then": node("Where to go when all tests hold.")},
            "required": ["if", "then"],
            "additionalProperties": False,
        },
        "tests": {
            "type": "object",
            "minProperties": 1,
            "properties": dict(TEST_SCHEMAS),
            "additionalProperties": False,
            "description": "Tests that must all hold.",
        },
        "node": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": list(STEPS), "description": "What the node does."}},
            "oneOf": [ref(f"{kind}_node") for kind in STEPS],
        },
        **{f"{kind}_node": step_schema(kind) for kind in STEPS},
    }
    body = {
        "description": "A call flow: the caller starts at `start` and goes from node to node.",
        "type": "object",
        "properties": {
            "name": text("The flow's name (lines.yaml and goto name it)."),
            "start": node("The first node."),
            "nodes": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": ref("node"),
                "description": "Node id -> node.",
            },
        },
        "required": ["name", "start", "nodes"],
        "additionalProperties": False,
    }
    return document("IVR call flow (flows/*.yaml)", body, defs)

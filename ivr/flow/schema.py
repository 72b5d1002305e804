"""`ivr flow schema`: JSON Schemas (draft 2020-12) of the files in flows/, for editors.

With a schema, an editor (VS Code with the YAML extension, any yaml-language-server) offers
a node's keys as you type, explains each on hover and underlines mistakes before
`ivr flow validate` runs. A node is checked against the schema of its `type` (one `oneOf`
alternative per type, told apart by `type`'s `const`); each step type describes its node
(its `schema`, ivr/flow/steps/). The loader stays the judge: it also checks names (prompts,
queues, nodes) that a schema cannot know.
"""

from typing import Any

from ivr.flow.steps.base import StepType
from ivr.flow.steps.registry import STEP_TYPES, StepTypes
from ivr.flow.steps.schema_parts import Schema, matching, node, ref, text

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def step_schema(kind: str, step: StepType[Any]) -> Schema:
    """The schema of a node of type `kind`: its keys and no others."""
    described = step.schema
    kind_schema = {"const": kind, "description": described.description}
    return {
        "type": "object",
        "title": f"{kind} node",
        "description": described.description,
        "properties": {"type": kind_schema, **described.properties},
        "required": ["type", *described.required],
        "additionalProperties": False,
        **described.rules,
    }


def step_defs(steps: StepTypes) -> Schema:
    """The $defs the step types' keys refer to; a name two types define differently is
    a mistake."""
    defs: Schema = {}
    for kind, step in steps.items():
        for name, schema in step.schema.defs.items():
            if defs.get(name, schema) != schema:
                raise ValueError(f"step type {kind}: $defs/{name} differs from another type's")
            defs[name] = schema
    return defs


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


def flow_schema(steps: StepTypes = STEP_TYPES) -> Schema:
    """One flow file: name, start and its nodes, of the types in `steps`."""
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
        **step_defs(steps),
        "node": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": list(steps), "description": "What the node does."}},
            "oneOf": [ref(f"{kind}_node") for kind in steps],
        },
        **{f"{kind}_node": step_schema(kind, step) for kind, step in steps.items()},
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

"""A new step type is one module and its registry line: a type defined here, in a registry
of its own, is validated, described by the JSON Schema, drawn, rendered and run without a
change anywhere else. And every shipped type describes itself completely."""

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ivr.calls.simulate import ScriptedCaller, TextSpeech
from ivr.flow.context import CallInfo, FlowServices, StepContext
from ivr.flow.graph import flow_dot
from ivr.flow.loader import load_library, validate_library
from ivr.flow.prompts import PromptRef
from ivr.flow.reload import speakable
from ivr.flow.runner import new_context, run_flow
from ivr.flow.schema import flow_schema
from ivr.flow.steps.base import (
    Checked,
    StepResult,
    StepType,
    number_of,
    play,
    read_prompts,
    targets_of,
)
from ivr.flow.steps.drawing import shown
from ivr.flow.steps.registry import STEP_TYPES
from ivr.flow.steps.schema_parts import StepSchema, node, number, prompt

# --- the whole of a new step type, as its module would hold it -----------------------------


@dataclass(frozen=True)
class BeepConfig:
    prompt: tuple[PromptRef, ...]
    times: int
    next: str


class Beep(StepType[BeepConfig]):
    keys = frozenset({"type", "prompt", "times", "next"})
    prompt_keys = ("prompt",)
    shape = "shape=star"
    schema = StepSchema(
        "Say a prompt several times, then go on.",
        {
            "prompt": prompt(),
            "times": number("How many times (default 1).", 1, 5, whole=True),
            "next": node("The node after."),
        },
        ("prompt", "next"),
    )

    def check(self, spec: Mapping[str, Any]) -> Checked[BeepConfig]:
        said = read_prompts(spec, self.prompt_keys)
        times = int(number_of(spec, "times", 1, minimum=1, maximum=5, whole=True))
        targets = targets_of(spec, "next", required=("next",))
        config = BeepConfig(said["prompt"], times, targets[("next",)])
        return Checked(config, targets, said.refs, said.every)

    def detail(self, config: BeepConfig) -> list[str]:
        return [f"{config.times} × {shown(config.prompt)}"]

    async def run(self, node_id: str, config: BeepConfig, ctx: StepContext) -> StepResult:
        for _ in range(config.times):
            await play(ctx, config.prompt)
        ctx.path.append(f"{node_id}:beeped")
        return StepResult(next=config.next)


STEPS = {**STEP_TYPES, "beep": Beep()}  # its registry line

# --------------------------------------------------------------------------------------------

FLOW = """\
name: f
start: b
nodes:
  b: {type: beep, prompt: [hello, {say: Біп}], times: 2, next: r}
  r: {type: route, queue: internet, class: existing_service}
"""
LINES = "default_flow: f\nlines:\n  - {number: '100', sphere: service, flow: f}\n"
PROMPTS = "languages: [uk]\nprompts:\n  hello: {uk: Привіт}\n"


def flows(tmp_path: Path, flow: str = FLOW) -> Path:
    (tmp_path / "f.yaml").write_text(flow, encoding="utf-8")
    (tmp_path / "lines.yaml").write_text(LINES, encoding="utf-8")
    (tmp_path / "prompts.yaml").write_text(PROMPTS, encoding="utf-8")
    return tmp_path


def problems(directory: Path, steps: Any = STEPS) -> list[str]:
    prefix = str(directory) + "/"
    found = validate_library(directory, steps=steps).problems
    return [str(p).removeprefix(prefix) for p in found]


def test_the_new_type_is_validated(tmp_path: Path) -> None:
    assert problems(flows(tmp_path)) == []
    bad = FLOW.replace("times: 2", "times: 9")
    assert problems(flows(tmp_path, bad)) == [
        "f.yaml:4:55: nodes.b.times: expected a whole number from 1 to 5"
    ]
    bad = FLOW.replace("[hello,", "[helo,")
    assert problems(flows(tmp_path, bad)) == [
        "f.yaml:4:27: nodes.b.prompt: unknown prompt 'helo' (not in prompts.yaml: hello)"
    ]
    bad = FLOW.replace("times: 2", "loud: yes")
    assert problems(flows(tmp_path, bad)) == [
        "f.yaml:4:48: nodes.b.loud: unknown key for a beep node "
        "(expected: next, prompt, times, type)"
    ]


def test_without_its_registry_line_it_is_unknown(tmp_path: Path) -> None:
    (found,) = problems(flows(tmp_path), steps=STEP_TYPES)
    assert found.startswith("f.yaml:4:13: nodes.b.type: 'beep' is not one of ['callback', ")


def test_the_schema_describes_it() -> None:
    schema = flow_schema(STEPS)
    described = schema["$defs"]["beep_node"]
    assert described["properties"]["type"] == {
        "const": "beep",
        "description": "Say a prompt several times, then go on.",
    }
    assert set(described["properties"]) == Beep.keys
    assert described["required"] == ["type", "prompt", "next"]
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(FLOW))) == []
    wrong = yaml.safe_load(FLOW.replace("times: 2", "times: 9"))
    assert list(validator.iter_errors(wrong))
    assert "beep_node" not in flow_schema()["$defs"]  # the shipped schema is untouched


def test_it_is_drawn(tmp_path: Path) -> None:
    library = load_library(flows(tmp_path), steps=STEPS)
    dot = flow_dot(library, "f")
    assert '"b" [label="b (beep)\\n2 × hello, \\"Біп\\"", shape=star, penwidth=2.5];' in dot
    assert '"b" -> "r";' in dot


def test_its_inline_prompts_are_rendered_before_serving(tmp_path: Path) -> None:
    library = load_library(flows(tmp_path), steps=STEPS)
    assert speakable(library) == {("Привіт", "uk"), ("Біп", "uk")}


async def test_it_runs_on_a_call(tmp_path: Path) -> None:
    library = load_library(flows(tmp_path), steps=STEPS)
    port = ScriptedCaller(deque())
    directory: Any = None  # a beep looks nothing up
    services = FlowServices(directory, TextSpeech(), [].append, lambda: datetime.now(UTC))
    ctx = new_context(library, CallInfo("c", "100", "0441112233", None), port, services)
    outcome = await run_flow(ctx)
    assert outcome.path == ("b:beeped",)
    assert outcome.route is not None and outcome.route.queue == "internet"
    assert port.heard == ["say[uk]: Привіт", "say[uk]: Біп"] * 2


# --- every shipped type describes itself ---------------------------------------------------


@pytest.mark.parametrize("kind", list(STEP_TYPES))
def test_a_step_type_is_its_module(kind: str) -> None:
    """House style: a flow's `type:` is its module's name in ivr/flow/steps/."""
    assert type(STEP_TYPES[kind]).__module__ == f"ivr.flow.steps.{kind}"


@pytest.mark.parametrize("kind", list(STEP_TYPES))
def test_prompt_keys_are_keys_described_as_prompts(kind: str) -> None:
    step = STEP_TYPES[kind]
    for key in step.prompt_keys:
        assert key in step.keys
        assert step.schema.properties[key]["$ref"] == "#/$defs/prompt", key
    others = step.keys - {"type", *step.prompt_keys}
    assert all(step.schema.properties[k].get("$ref") != "#/$defs/prompt" for k in others)

"""`ivr flow schema`: the JSON Schemas accept every shipped file, reject typical mistakes,
and cannot drift from the step types the loader knows."""

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.flow.loader import NOT_FLOWS
from ivr.flow.schema import flow_schema
from ivr.flow.schema_files import SCHEMAS, calendar_schema, lines_schema, prompts_schema
from ivr.flow.steps.condition import TEST_SCHEMAS, TESTS
from ivr.flow.steps.registry import STEP_TYPES

FLOWS = PROJECT_ROOT / "flows"
FLOW_FILES = sorted(p for p in FLOWS.glob("*.yaml") if p.name not in NOT_FLOWS)


def as_editor_sees(path: Path) -> Any:
    """YAML as JSON, the way an editor's YAML server validates it (dates stay text)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def errors(schema: dict[str, Any], data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=list(SCHEMAS))
def test_schemas_are_valid_draft_2020_12(schema: Any) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", FLOW_FILES, ids=[p.name for p in FLOW_FILES])
def test_every_shipped_flow_is_valid(path: Path) -> None:
    assert errors(flow_schema(), as_editor_sees(path)) == []


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("lines.yaml", lines_schema),
        ("prompts.yaml", prompts_schema),
        ("calendar.yaml", calendar_schema),
    ],
)
def test_every_shipped_config_file_is_valid(name: str, schema: Any) -> None:
    assert errors(schema(), as_editor_sees(FLOWS / name)) == []


def test_lines_csv_rows_are_valid_lines() -> None:
    line = {**lines_schema()["$defs"]["line"], "$defs": lines_schema()["$defs"]}
    with (FLOWS / "lines.csv").open(encoding="utf-8", newline="") as handle:
        rows = [{k: v for k, v in row.items() if v} for row in csv.DictReader(handle)]
    assert rows
    for row in rows:
        assert errors(line, row) == [], row


def test_every_step_type_has_exactly_its_keys() -> None:
    """Drift: a key added to a step (or a new step type) must be added to the schema."""
    defs = flow_schema()["$defs"]
    for kind, step in STEP_TYPES.items():
        assert set(defs[f"{kind}_node"]["properties"]) == step.keys, kind
        assert set(defs[f"{kind}_node"]["required"]) <= step.keys, kind
        assert defs[f"{kind}_node"]["properties"]["type"]["const"] == kind
    assert set(defs["node"]["properties"]["type"]["enum"]) == set(STEP_TYPES)
    assert {alt["$ref"] for alt in defs["node"]["oneOf"]} == {
        f"#/$defs/{kind}_node" for kind in STEP_TYPES
    }


def test_every_condition_test_has_a_schema() -> None:
    assert set(TEST_SCHEMAS) == TESTS
    assert set(flow_schema()["$defs"]["tests"]["properties"]) == TESTS


def test_every_key_is_described() -> None:
    defs = flow_schema()["$defs"]
    for kind in STEP_TYPES:
        for key, prop in defs[f"{kind}_node"]["properties"].items():
            assert prop.get("description"), f"{kind}.{key}"


def flow(node: str) -> Any:
    text = (
        "name: f\nstart: n\nnodes:\n"
        f"  n: {node}\n"
        "  r: {type: route, queue: internet, class: existing_service}\n"
    )
    return yaml.safe_load(text)


GOOD = [
    "{type: menu, prompt: [main_menu, {say: 'Hello {name}'}], options: {'1': r}, on_timeout: r,"
    " on_invalid: r}",
    "{type: play, prompt: {say: {uk: Привіт, en: {sound: custom/hi}}}, next: r}",
    "{type: play, prompt: {sound: beep}, next: r}",
    "{type: goto, flow: main}",
    "{type: identify, by: contract, var: contract, found: r, not_found: r}",
    "{type: condition, cases: [{if: {days: 'Mon-Fri, sun', time: '8:00-22:00'}, then: r}], "
    "else: r}",
    "{type: condition, cases: [{if: {var: {problem: [a, 1]}, caller: new}, then: r}], else: r}",
    "{type: set, vars: {звідки: '{caller}', n: 2}, next: r}",
    "{type: collect, var: contract, min_digits: 8, max_digits: 8, next: r, on_fail: r}",
]

BROKEN = [
    ("{type: menu, promt: beep, options: {'1': r}}", "'promt' was unexpected"),
    ("{type: dial, queue: q}", "'dial' is not one of"),
    ("{type: menu, prompt: beep}", "'options' is a required property"),
    ("{type: menu, options: {'1': r}, on_timeout: r}", "'on_invalid' is a required property"),
    ("{type: choose, var: x, options: {'1': a}, next: r}", "'on_fail' is a required property"),
    ("{type: collect, var: x, next: r}", "'on_fail' is a required property"),
    ("{type: menu, options: {}}", "should be non-empty"),
    ("{type: menu, options: {'A': r}}", "'A' does not match"),
    ("{type: menu, options: {'1': r}, timeout: soon}", "'soon' is not of type 'number'"),
    ("{type: route, queue: [a], class: c}", "is not of type 'string'"),
    ("{type: goto, node: r, flow: main}", "False schema does not allow 'main'"),
    ("{type: goto}", "'flow' is a required property"),
    ("{type: identify, var: contract, found: r, not_found: r}", "'by' is a required property"),
    ("{type: condition, cases: [{if: {weather: sunny}, then: r}], else: r}", "'weather'"),
    ("{type: condition, cases: [{if: {days: someday}, then: r}], else: r}", "does not match"),
    ("{type: play, prompt: {say: '  '}, next: r}", "is not valid under any"),
    ("{type: collect, var: 1x, next: r}", "'1x' does not match"),
    ("{type: collect, var: x, max_digits: 40, next: r}", "40 is greater than the maximum"),
]


@pytest.mark.parametrize("node", GOOD)
def test_good_nodes_are_accepted(node: str) -> None:
    assert errors(flow_schema(), flow(node)) == []


def messages(errors: Iterable[jsonschema.ValidationError]) -> list[str]:
    """Every message, with those of each `oneOf` alternative (the node's step type's)."""
    return [text for e in errors for text in [e.message, *messages(e.context or [])]]


@pytest.mark.parametrize(("node", "expected"), BROKEN, ids=[b[1] for b in BROKEN])
def test_broken_nodes_are_rejected(node: str, expected: str) -> None:
    found = messages(jsonschema.Draft202012Validator(flow_schema()).iter_errors(flow(node)))
    assert any(expected in text for text in found), found


def test_broken_files_are_rejected() -> None:
    assert errors(flow_schema(), {"name": "f", "start": "n"})  # no nodes
    assert errors(flow_schema(), {"name": "f", "start": "n", "nodes": {}, "x": 1})
    assert errors(lines_schema(), {"default_flow": "main", "lines": [{"number": "1"}]})
    assert errors(lines_schema(), {"lines": [], "default_flow": "m", "defaults": {}})
    line = {"number": "55x", "sphere": "sales", "flow": "main"}
    assert len(errors(lines_schema(), {"default_flow": "main", "lines": [line]})) == 2
    assert errors(prompts_schema(), {"languages": [], "prompts": {}})
    assert errors(prompts_schema(), {"languages": ["uk"], "prompts": {"a": {"uk": 3}}})
    assert errors(calendar_schema(), {"schedules": {"ops": {"mon-sat": "8-22"}}})
    assert errors(calendar_schema(), {"schedules": {"ops": {"someday": "08:00-22:00"}}})
    assert errors(calendar_schema(), {"holidays": ["soon"]})


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == flow_schema()
    for name, schema in SCHEMAS.items():
        assert main(["flow", "schema", "--file", name]) == 0
        assert json.loads(capsys.readouterr().out) == schema()


def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "var" / "calendar.schema.json"
    assert main(["flow", "schema", "--file", "calendar", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == calendar_schema()
    assert f"wrote {out}" in capsys.readouterr().out

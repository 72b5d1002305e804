"""Flow validation as a supervisor sees it: every problem at file:line:col, naming the key."""

import shutil
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.flow.loader import FlowError, load_library, validate_library
from ivr.queues.model import load_queues

LINES = "default_flow: f\nlines:\n  - {number: '100', sphere: service, flow: f}\n"


PROMPTS = "languages: [en]\nprompts:\n  beep: {sound: beep}\n"


def flows_dir(tmp_path: Path, flow: str, lines: str = LINES) -> Path:
    (tmp_path / "f.yaml").write_text(flow, encoding="utf-8")
    (tmp_path / "lines.yaml").write_text(lines, encoding="utf-8")
    (tmp_path / "prompts.yaml").write_text(PROMPTS, encoding="utf-8")
    return tmp_path


def problems(directory: Path) -> list[str]:
    return [str(p).replace(f"{directory}/", "") for p in validate_library(directory).problems]


GOOD_TAIL = "  r: {type: route, queue: internet, class: existing_service}\n"

# (flow text, the exact problem it must produce)
BROKEN = [
    (
        "name: f\nstart: m\nnodes:\n  m:\n    type: menu\n    promt: beep\n"
        "    options: {'1': r}\n" + GOOD_TAIL,
        "f.yaml:6:5: nodes.m.promt: unknown key for a menu node (expected: invalid_prompt, "
        "on_invalid, on_timeout, options, prompt, retries, timeout, type)",
    ),
    (
        "name: f\nstart: m\nnodes:\n  m:\n    type: menu\n    options: {'1': r, '1': x}\n"
        + GOOD_TAIL,
        "f.yaml:6:23: nodes.m.options.1: duplicate key (YAML keeps only the last one)",
    ),
    (
        "name: f\nstart: m\nnodes:\n  m:\n    type: menu\n    options:\n      '1': rr\n"
        "    on_timeout: r\n    on_invalid: r\n" + GOOD_TAIL,
        "f.yaml:7:12: nodes.m.options.1: unknown node 'rr'",
    ),
    (
        "name: f\nstart: m\nnodes:\n  m:\n    type: menu\n    options: {'1': r}\n"
        "    on_invalid: r\n" + GOOD_TAIL,
        "f.yaml:5:5: nodes.m.on_timeout: missing: add `on_timeout: <node id>`, where a caller "
        "goes when he presses nothing (e.g. the node of the default choice; without it he "
        "falls to the fallback queue at priority 0)",
    ),
    (
        "name: f\nstart: c\nnodes:\n  c: {type: collect, var: n, next: r}\n" + GOOD_TAIL,
        "f.yaml:4:6: nodes.c.on_fail: missing: add `on_fail: <node id>`, where a caller goes "
        "when no valid entry comes (e.g. the node of the default choice; without it he falls "
        "to the fallback queue at priority 0)",
    ),
    (
        "name: f\nstart: m\nnodes:\n  m:\n    type: menu\n    timeout: soon\n"
        "    options: {'1': r}\n" + GOOD_TAIL,
        "f.yaml:6:14: nodes.m.timeout: expected a number >= 0.5",
    ),
    (
        "name: f\nstart: m\nnodes:\n  m:\n    type: menu\n    options: {'A': r}\n" + GOOD_TAIL,
        "f.yaml:6:15: nodes.m.options.A: not a DTMF key (0-9 * #)",
    ),
    (
        "name: f\nstart: x\nnodes:\n" + GOOD_TAIL,
        "f.yaml:2:8: start: 'x' is not a node",
    ),
    (
        "name: f\nstart: r\nnodes:\n  r: {type: dial, queue: q}\n",
        "f.yaml:4:13: nodes.r.type: 'dial' is not one of ['callback', 'choose', 'collect', "
        "'condition', 'goto', 'hangup', 'identify', 'language', 'menu', 'meter_reading', "
        "'outage', 'play', 'route', 'set', 'unreachable_report']",
    ),
    (
        "name: f\nstart: r\nnodes:\n  r: {type: route, queue: [a], class: c}\n",
        "f.yaml:4:27: nodes.r.queue: expected a name",
    ),
    (
        "name: f\nstart: m\nnodes:\n  m: {type: menu, options: {'1': r}\n",
        "f.yaml:5:1: not valid YAML: expected ',' or '}', but got '<stream end>'",
    ),
]


@pytest.mark.parametrize(("flow", "expected"), BROKEN, ids=range(len(BROKEN)))
def test_broken_flow_reports_its_exact_error(tmp_path: Path, flow: str, expected: str) -> None:
    found = problems(flows_dir(tmp_path, flow))
    assert expected in found, found
    with pytest.raises(FlowError):
        load_library(tmp_path)


def test_a_broken_flow_does_not_bury_lines_yaml_in_follow_on_errors(tmp_path: Path) -> None:
    found = problems(flows_dir(tmp_path, "name: f\nstart: x\nnodes:\n" + GOOD_TAIL))
    assert found == ["f.yaml:2:8: start: 'x' is not a node"]


def test_lines_errors_are_located(tmp_path: Path) -> None:
    flow = "name: f\nstart: r\nnodes:\n" + GOOD_TAIL
    lines = "default_flow: f\nlines:\n  - {number: '100', sphere: sales, flow: f}\n"
    expected = (
        "lines.yaml:3:29: lines[0].sphere: expected one of ['connections', 'audit', 'service']"
    )
    assert expected in problems(flows_dir(tmp_path, flow, lines))


def test_warnings_do_not_reject_the_flow(tmp_path: Path) -> None:
    flow = (
        "name: f\nstart: m\nnodes:\n"
        "  m: {type: menu, options: {'1': r}, on_timeout: r, on_invalid: r}\n"
        "  lost: {type: play, prompt: beep, next: m}\n" + GOOD_TAIL
    )
    found = problems(flows_dir(tmp_path, flow))
    assert found == ["f.yaml:5:3: warning: nodes.lost: unreachable from start"]
    assert load_library(tmp_path).flows["f"].start == "m"


def test_a_loop_without_exit_is_an_error(tmp_path: Path) -> None:
    flow = (
        "name: f\nstart: m\nnodes:\n"
        "  m: {type: menu, options: {'1': m}, on_timeout: m, on_invalid: m}\n"
        "  lost: {type: play, prompt: beep, next: r}\n" + GOOD_TAIL
    )
    found = problems(flows_dir(tmp_path, flow))
    assert (
        "f.yaml:4:3: nodes.m: no route, hangup or other flow can be reached from here "
        "(a loop without exit or a dead end)" in found
    )


@pytest.mark.parametrize("directory", ["flows", "tests/bench/flows", "tests/fixtures/agi/flows"])
def test_every_flows_directory_in_the_project_is_clean(directory: str) -> None:
    queues = load_queues(PROJECT_ROOT / "queues.yaml")
    validation = validate_library(PROJECT_ROOT / directory, queues.queues, queues.caller_classes)
    assert validation.problems == []


def test_cli_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "validate", str(PROJECT_ROOT / "flows")]) == 0
    assert "flows: ok" in capsys.readouterr().out
    broken = flows_dir(tmp_path, "name: f\nstart: x\nnodes:\n" + GOOD_TAIL)
    assert main(["flow", "validate", str(broken)]) == 1
    assert "f.yaml:2:8: start: 'x' is not a node" in capsys.readouterr().out


def _shipped(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows"))


def _run(capsys: pytest.CaptureFixture[str], target: Path) -> tuple[int, list[str]]:
    code = main(["flow", "validate", str(target)])
    return code, capsys.readouterr().out.replace(f"{target.parent}/", "").splitlines()


def test_cli_validates_one_file_within_its_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = _shipped(tmp_path)
    assert _run(capsys, flows / "main.yaml") == (0, ["flows: ok (0 warning(s)) in main.yaml"])
    (flows / "support.yaml").write_text("name: support\nstart: x\nnodes: {h: {type: hangup}}\n")
    # main.yaml goes to the support flow: the names come from the whole directory
    assert _run(capsys, flows / "main.yaml") == (
        1,
        [
            f"flows: main.yaml ok, but {flows} does not load: 1 error(s) in other files "
            f"(ivr flow validate {flows})"
        ],
    )
    assert _run(capsys, flows / "support.yaml") == (
        1,
        [
            "support.yaml:2:8: start: 'x' is not a node",
            "flows: 1 error(s), 0 warning(s) in support.yaml",
        ],
    )
    assert _run(capsys, flows / "mian.yaml") == (1, ["flows: no such file: mian.yaml"])


def test_cli_output_is_printable_whatever_the_file_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = _shipped(tmp_path)
    (flows / "odd.yaml").write_text(
        'name: odd\nstart: h\nnodes: {h: {type: hangup}, "x\\ud800\\n\\u202e": {type: hangup}}\n'
    )
    code, out = _run(capsys, flows / "odd.yaml")
    assert code == 0  # an unreachable node is a warning; its id is shown escaped, on one line
    assert out == [
        "odd.yaml:3:28: warning: nodes.x\\ud800\\n\\u202e: unreachable from start",
        "flows: ok (1 warning(s)) in odd.yaml",
    ]
    "\n".join(out).encode("utf-8")  # no lone surrogate left: printable on any terminal

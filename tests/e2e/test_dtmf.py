"""`--dtmf` on the real Asterisk: a test call takes the path `ivr flow simulate` predicts
for the same script, through prompts of two parts (the issue: "- - 2" timed out twice in
the simulator but pressed 2 at the second ask on a real call), and both refuse a flow
change that removes a menu's way out."""

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.app import Engine
from ivr.calls.simulate import simulate
from ivr.config import Settings
from ivr.flow.dtmf import parse_dtmf
from ivr.flow.loader import load_library
from ivr.queues.model import load_queues
from ivr.sandbox.calls.place import place_call
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import engine_settings, eventually, journal_row, started
from tests.unit.fakes import NobodyKnown

LINE, CALLER = "5551000", "+380990001199"
# Every ask has two parts: 2 s a key interrupts, then the beep that waits for keys.
FLOW = """\
name: main
start: menu
nodes:
  menu:
    type: menu
    prompt: [pause, beep]
    timeout: 1
    retries: 1
    options: {"1": new, "2": internet, "3": contract}
    on_timeout: existing
    on_invalid: existing
  contract:
    type: collect
    prompt: [pause, beep]
    var: contract
    min_digits: 4
    max_digits: 4
    timeout: 1
    retries: 1
    next: internet
    on_fail: existing
  new: {type: route, queue: first_line, class: new_connection}
  existing: {type: route, queue: first_line, class: existing_service}
  internet: {type: route, queue: internet, class: existing_service}
"""
PROMPTS = "languages: [en]\nprompts:\n  beep: {sound: beep}\n  pause: {sound: silence/2}\n"
LINES = f'default_flow: main\nlines:\n  - {{number: "{LINE}", sphere: service, flow: main}}\n'


def flows_dir(tmp_path: Path) -> Path:
    flows = tmp_path / "dtmf-flows"
    flows.mkdir()
    for name, text in (("main.yaml", FLOW), ("prompts.yaml", PROMPTS), ("lines.yaml", LINES)):
        (flows / name).write_text(text, encoding="utf-8")
    return flows


@pytest.fixture
async def dtmf_engine(sandbox: object, settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    engine = await started(engine_settings(settings, tmp_path, flows_dir=str(flows_dir(tmp_path))))
    yield engine
    await engine.stop()


async def predicted(settings: Settings, flows: Path, script: str) -> str:
    """The path `ivr flow simulate --dtmf <script>` shows for these flows."""
    queues = load_queues(settings.queues_file)
    library = load_library(flows, queues=queues.queues, classes=queues.caller_classes)
    keys = parse_dtmf(script)
    now = datetime.now(UTC)
    result = await simulate(library, queues, LINE, CALLER, keys, NobodyKnown(), lambda: now)
    return ">".join(result.path)


@pytest.mark.parametrize(
    ("script", "path"),
    [
        ("- - 2", "menu:timeout"),  # two silent asks: on_timeout, not the 2
        ("- 2", "menu:2"),
        ("3 - 1234", "menu:3>contract:ok"),  # a timeout at the collect, then 4 digits
    ],
)
async def test_a_real_call_takes_the_path_the_simulator_predicts(
    dtmf_engine: Engine, tester: AmiClient, settings: Settings, script: str, path: str
) -> None:
    flows = Path(dtmf_engine.settings.flows_dir)
    assert await predicted(settings, flows, script) == path

    report = await place_call(tester, LINE, CALLER, parse_dtmf(script), timeout=40)

    assert report.via == "engine", report.summary()
    assert report.path == path, report.summary()
    assert report.dtmf_sent == script.split()[: report.prompts_waited]  # "- - 2": 2 unused
    row = await journal_row(dtmf_engine, report.call_id, ended=False)
    assert row is not None and row.menu_path == path


async def test_hot_reload_refuses_a_menu_without_its_way_out(
    dtmf_engine: Engine, tester: AmiClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The change that drops on_timeout is refused; the old menu keeps serving silence."""
    flows = Path(dtmf_engine.settings.flows_dir)
    before = dtmf_engine.flow_reloader.library
    with caplog.at_level(logging.ERROR, logger="ivr.flow.reload"):
        (flows / "main.yaml").write_text(FLOW.replace("    on_timeout: existing\n", ""))
        await eventually(lambda: any("rejected" in r.getMessage() for r in caplog.records))
    assert dtmf_engine.flow_reloader.library is before
    assert any(
        "main.yaml:5:5: nodes.menu.on_timeout: missing: add `on_timeout: <node id>`"
        in r.getMessage()
        for r in caplog.records
    )

    report = await place_call(tester, LINE, CALLER, ["-", "-"], timeout=40)
    assert (report.path, report.caller_class) == ("menu:timeout", "existing_service")

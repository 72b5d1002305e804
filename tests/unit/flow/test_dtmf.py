"""`--dtmf` means one thing: the simulator's caller and a real test call (the KeyPresser
that `ivr call` uses, fed the AGI commands the engine's AgiCallPort sends) take the same
keys at the same requests and end on the same path through the shipped flows."""

from datetime import UTC, datetime
from typing import cast

import pytest

from ivr.calls.simulate import TextSpeech, simulate
from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.flow.context import CallInfo, FlowServices
from ivr.flow.dtmf import KeyPlan, parse_dtmf
from ivr.flow.loader import load_library
from ivr.flow.runner import new_context, run_flow
from ivr.queues.model import load_queues
from ivr.sandbox.calls.presser import KeyPresser, key_command
from ivr.telephony.agi import AgiChannel
from ivr.telephony.call_port import AgiCallPort
from ivr.telephony.encoding import agi_quote
from tests.unit.fakes import NobodyKnown

QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")
LIBRARY = load_library(PROJECT_ROOT / "flows", queues=QUEUES.queues, classes=QUEUES.caller_classes)
OPEN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday 12:00 in Kyiv: operators work


class AsteriskChannel:
    """An AgiChannel stand-in: each command, as its AGI text, goes to the presser; the keys
    pressed come back as Asterisk returns them (STREAM FILE: the key that interrupted it;
    GET DATA: at most max_digits, None when nothing was pressed)."""

    def __init__(self, presser: KeyPresser) -> None:
        self.presser = presser
        self.commands: list[str] = []

    def _run(self, command: str) -> str:
        self.commands.append(command)
        return self.presser.on_command(command)

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        keys = self._run(f"STREAM FILE {agi_quote(name)} {agi_quote(escape_digits)}")
        return keys[:1] if escape_digits else ""

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        keys = self._run(f"GET DATA {agi_quote(prompt)} {timeout_ms} {max_digits}")
        return keys[:max_digits] or None


async def real_call_path(line: str, script: str) -> tuple[tuple[str, ...], KeyPresser]:
    presser = KeyPresser(KeyPlan(parse_dtmf(script)))
    port = AgiCallPort(cast(AgiChannel, AsteriskChannel(presser)))
    services = FlowServices(NobodyKnown(), TextSpeech(), lambda event: None, lambda: OPEN)
    call = CallInfo("c1", line, "0991112233", LIBRARY.lines.get(line))
    outcome = await run_flow(new_context(LIBRARY, call, port, services))
    return outcome.path, presser


async def simulated_path(line: str, script: str) -> tuple[str, ...]:
    keys = parse_dtmf(script)
    result = await simulate(LIBRARY, QUEUES, line, "0991112233", keys, NobodyKnown(), lambda: OPEN)
    return result.path


SCRIPTS = [
    ("5551000", "- - 2"),  # the case: two timeouts, then 2
    ("5551000", "- 7 2 1"),
    ("5551000", "- - -"),  # three timeouts: the menu's on_timeout
    ("5551000", "2 - 1"),
    ("5551000", "12 2"),  # a menu takes one key: the 2 after the 1 is dropped
    ("5551000", "3 04321#"),  # a reading of several digits after an interrupted prompt
    ("5551000", "4 5553000# 3 - 1 2"),
    ("5551000", "4 5553000 3 1 2"),
    ("5552000", "- 1"),
    ("5555000", "2 - - 2"),
    ("5551000", ""),
]


@pytest.mark.parametrize(("line", "script"), SCRIPTS)
async def test_a_real_call_takes_the_path_the_simulator_predicts(line: str, script: str) -> None:
    path, presser = await real_call_path(line, script)
    assert path == await simulated_path(line, script)
    assert presser.plan.used == list(parse_dtmf(script))[: presser.requests]


async def test_silence_lasts_the_whole_multi_part_prompt() -> None:
    """`-` is one request, however many parts its prompt has: the issue's "- - 2"."""
    path, presser = await real_call_path("5551000", "- - 2")
    assert path[:2] == ("hours:1", "menu:2")
    assert path == await simulated_path("5551000", "- - 2")
    assert presser.plan.used == ["-", "-", "2"]


def test_the_presser_presses_the_first_key_into_a_leading_part_and_the_rest_after() -> None:
    presser = KeyPresser(KeyPlan(["-", "123", "9"]))
    commands = [
        ('STREAM FILE "menu" "0123456789*#"', ""),  # silence: the whole prompt plays
        ('GET DATA "beep" 5000 1', ""),  # ... and times out: one request
        ('STREAM FILE "ask" "0123456789*#"', "1"),  # the next token interrupts
        ('GET DATA "silence/1" 5000 7', "23"),  # the rest of the entry
        ('STREAM FILE "thanks" ""', ""),  # a prompt that takes no keys
        ('GET DATA "beep" 5000 1', "9"),
        ('GET DATA "beep" 5000 1', ""),  # the script is used up: silence
    ]
    assert [presser.on_command(c) for c, _ in commands] == [keys for _, keys in commands]
    assert presser.requests == 4


def test_key_commands_are_recognised() -> None:
    assert key_command('GET DATA "beep" 5000 3') is not None
    assert key_command('STREAM FILE "x" ""') is None
    assert key_command('SET VARIABLE "A" "1"') is None
    assert key_command('STREAM FILE "unclosed') is None


@pytest.mark.parametrize("script", ["1 x", "1,2", "- 2a", "１"])
def test_a_bad_script_is_refused_with_the_token(script: str) -> None:
    with pytest.raises(ValueError, match=r"--dtmf: token \d+ .*expected keys \(0-9 \* #\)"):
        parse_dtmf(script)


@pytest.mark.parametrize("command", [["call", "--caller", "1"], ["flow", "simulate"]])
def test_the_cli_refuses_a_bad_script_before_calling(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--line", "5551000", "--dtmf", "1 x"])
    assert exit_.value.code == 2
    assert "argument --dtmf: token 2 'x': expected keys" in capsys.readouterr().err

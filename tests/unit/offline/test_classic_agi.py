"""The classic AGI session the scripts use (pyst2 underneath, the engine's encoding on top)."""

import logging

import pytest

from ivr.offline.agi import MAX_LOG_CHARS, AgiLogHandler, ClassicAgi, ClassicAgiError
from ivr.telephony.encoding import UnsafeValue
from tests.fake_classic_agi import FakeAsterisk


def session(**kwargs: object) -> tuple[FakeAsterisk, ClassicAgi]:
    asterisk = FakeAsterisk(**kwargs)  # type: ignore[arg-type]
    return asterisk, ClassicAgi(asterisk, asterisk)  # type: ignore[arg-type]


def test_the_environment_and_arguments_are_read() -> None:
    _, agi = session(args=["5551000", "x y"], env={"agi_callerid": "0441234567"})
    assert agi.args == ["5551000", "x y"]
    assert agi.env["agi_callerid"] == "0441234567"


async def test_values_are_quoted_by_the_engines_rules_not_pyst2s() -> None:
    asterisk, agi = session()
    await agi.set_variable("IVR_CLASS", 'a "b" \\c')
    assert asterisk.commands == ['SET VARIABLE "IVR_CLASS" "a \\"b\\" \\\\c"']


@pytest.mark.parametrize("value", ["x\nEXEC Dial", "x\rHANGUP", "x\0"])
async def test_a_line_break_never_reaches_asterisk(value: str) -> None:
    asterisk, agi = session()
    with pytest.raises(UnsafeValue):
        await agi.set_variable("IVR_CLASS", value)
    with pytest.raises(UnsafeValue):
        await agi.get_data(value, 1000, 4)
    assert asterisk.commands == []


async def test_keys_come_back_as_the_engine_reads_them() -> None:
    asterisk, agi = session(keys=["12", ""])
    assert await agi.get_data("ask", 5000, 8) == "12"
    assert await agi.get_data("ask", 5000, 8) is None  # `200 result= (timeout)`
    assert await agi.stream_file("hello", "0123456789*#") == ""
    assert asterisk.commands[0] == 'GET DATA "ask" 5000 8'


async def test_a_hung_up_call_raises_one_error_type() -> None:
    asterisk, agi = session()
    asterisk.hang_up_at = 1
    with pytest.raises(ClassicAgiError):
        await agi.stream_file("hello")


def test_log_records_go_to_asterisk_as_one_short_line() -> None:
    asterisk, agi = session()
    handler = AgiLogHandler(agi, "meter_reading")
    record = logging.LogRecord("x", logging.WARNING, "f", 1, "bad\nline %s", ("x" * 5000,), None)
    handler.emit(record)
    (command,) = asterisk.commands
    assert command.startswith('VERBOSE "meter_reading: bad line xxx')
    assert len(command) < MAX_LOG_CHARS + 30

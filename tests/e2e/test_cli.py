"""`ivr call` as an admin runs it: a subprocess, its printout and its exit code."""

import asyncio
import sys

from ivr.app import Engine


async def ivr(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_ivr_call_prints_the_route_and_exits_zero(engine: Engine) -> None:
    code, out = await ivr("call", "--line", "5552000", "--caller", "0441234567", "--dtmf", "1")

    assert code == 0, out
    assert "served by: engine" in out
    assert "menu path: hours:1>menu:1" in out
    assert "queue joined: connections" in out


async def test_ivr_call_exits_nonzero_when_the_caller_reaches_no_queue(engine: Engine) -> None:
    # Timed out before the menu ends: the call failed as far as the caller is concerned.
    code, out = await ivr("call", "--line", "5551000", "--caller", "0441234567", "--timeout", "1")

    assert code == 1, out
    assert "outcome: timed out after 1 s" in out

"""A classic AGI script's channel (pyst2's `asterisk.agi.AGI`, one process per call).

Every argument goes through ivr.telephony.encoding: pyst2's own quoting would let a `"` or
a newline in caller-controlled text inject AGI commands. Its methods are async only to
match the engine's channel (ivr.telephony.call_port.KeyChannel): the flow steps run on
them unchanged.
"""

import logging
import os
from typing import Any, TextIO

from asterisk.agi import AGI, AGIException

from ivr.telephony.encoding import agi_quote

MAX_LOG_CHARS = 1000


class ClassicAgiError(Exception):
    """The call hung up, or Asterisk refused or did not answer a command."""


class ClassicAgi:
    """The call's AGI session: its environment (agi_*), and the commands scripts use."""

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        # pyst2 logs every line it reads and writes to stderr: kept out of Asterisk's log.
        self._quiet = open(os.devnull, "w")  # held for the session
        self._agi: Any = AGI(stdin=stdin, stdout=stdout, stderr=self._quiet)
        self.env: dict[str, str] = dict(self._agi.env)

    @property
    def args(self) -> list[str]:
        """The script's arguments (AGI(script,arg1,...)), from the environment."""
        found: list[str] = []
        while (arg := self.env.get(f"agi_arg_{len(found) + 1}")) is not None:
            found.append(arg)
        return found

    def close(self) -> None:
        self._quiet.close()

    def _execute(self, command: str, *words: str) -> tuple[str, str]:
        """(result, data) of `200 result=<result> (<data>)`; ClassicAgiError otherwise."""
        try:
            reply = self._agi.execute(command, *words)
        except (AGIException, OSError) as exc:
            raise ClassicAgiError(f"{command}: {exc}") from exc
        result, data = reply["result"]
        return str(result), str(data)

    def verbose(self, message: str, level: int = 1) -> None:
        self._execute("VERBOSE", agi_quote(message), str(int(level)))

    async def set_variable(self, name: str, value: str) -> None:
        self._execute("SET VARIABLE", agi_quote(name), agi_quote(value))

    async def answer(self) -> None:
        self._execute("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        """Play a sound; the digit that interrupted it, or ""."""
        result, _ = self._execute("STREAM FILE", agi_quote(name), agi_quote(escape_digits))
        code = int(result or "0")
        return chr(code) if code > 0 else ""

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play a prompt and collect digits; None on a timeout with no digit."""
        # pyst2 reads `200 result= (timeout)` as no result at all: "" either way.
        result, _ = self._execute(
            "GET DATA", agi_quote(prompt), str(int(timeout_ms)), str(int(max_digits))
        )
        return result or None


class AgiLogHandler(logging.Handler):
    """Log records into Asterisk's own log (AGI VERBOSE): a script has no log of its own."""

    def __init__(self, agi: ClassicAgi, script: str) -> None:
        super().__init__(logging.INFO)
        self._agi = agi
        self._script = script

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # one line, well within Asterisk's AGI line buffer (2 KiB)
            text = " ".join(f"{self._script}: {self.format(record)}".split())[:MAX_LOG_CHARS]
            self._agi.verbose(text)
        except (ClassicAgiError, ValueError):
            pass  # the call is gone, or the text cannot be sent: nothing to log to

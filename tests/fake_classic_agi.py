"""Asterisk's side of a classic AGI session, scripted: the agi_* environment, then one
reply per command the script writes (GET DATA answers with the next keys of `keys`)."""

import shlex
from collections import deque
from collections.abc import Iterable


class FakeAsterisk:
    """Pass it as both stdin and stdout of ivr.offline.agi.ClassicAgi."""

    def __init__(
        self, args: Iterable[str] = (), env: dict[str, str] | None = None, keys: Iterable[str] = ()
    ) -> None:
        head = {"agi_uniqueid": "1700000000.1", "agi_callerid": "380441234567", **(env or {})}
        head |= {f"agi_arg_{n}": arg for n, arg in enumerate(args, 1)}
        self._lines = deque(f"{k}: {v}\n" for k, v in head.items())
        self._lines.append("\n")
        self.keys = deque(keys)
        self.commands: list[str] = []
        self.hang_up_at: int | None = None  # the command that finds the call gone

    def write(self, text: str) -> int:
        self.commands.append(text.rstrip("\n"))
        self._lines.append(self._reply(self.commands[-1]))
        return len(text)

    def flush(self) -> None:
        pass

    def readline(self) -> str:
        return self._lines.popleft() if self._lines else ""

    def _reply(self, command: str) -> str:
        if self.hang_up_at is not None and len(self.commands) >= self.hang_up_at:
            return "200 result=-1\n"
        if command.startswith("GET DATA"):
            keys = self.keys.popleft() if self.keys else ""
            return f"200 result={keys}\n" if keys else "200 result= (timeout)\n"
        return "200 result=0\n" if command.startswith("STREAM FILE") else "200 result=1\n"

    def variables(self) -> dict[str, str]:
        """Every SET VARIABLE the script sent, the last value of each."""
        found = {}
        for command in self.commands:
            if command.startswith("SET VARIABLE "):
                name, value = shlex.split(command[len("SET VARIABLE ") :])
                found[name] = value
        return found

    def played(self) -> list[str]:
        """The sounds of STREAM FILE and GET DATA, in order."""
        words = [shlex.split(c) for c in self.commands]
        return [w[2] for w in words if w[:2] in (["STREAM", "FILE"], ["GET", "DATA"])]

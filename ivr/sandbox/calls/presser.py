"""Which keys a test call presses at each AGI command the menu runs, so that a `--dtmf`
script means on a real call what it means in `ivr flow simulate` (ivr.flow.dtmf).

The engine asks for keys (ivr.telephony.call_port) with the leading parts of a prompt as
STREAM FILE with escape digits, then GET DATA with the last part; when a key interrupts a
leading part, a GET DATA of silence/1 reads the rest of the entry. One request is therefore
one or more of these commands in a row; each request takes one token.

Limits of a scripted caller: a key for a leading part is pressed KEY_DELAY (0.3 s) after it
starts, so that part must be longer; and the presser cannot see how many keys a request
takes, so keys beyond them (dropped by the simulator) go to the next request's GET DATA
when that request has no prompt of its own.
"""

import shlex
from dataclasses import dataclass

from ivr.flow.dtmf import SILENCE, KeyPlan
from ivr.telephony.call_port import SILENT_PROMPT


@dataclass(frozen=True)
class KeyCommand:
    """An AGI command that reads keys: `get_data` with its prompt and digits, or an
    interruptible STREAM FILE (`get_data` False)."""

    get_data: bool
    prompt: str
    max_digits: int = 1


def key_command(command: str) -> KeyCommand | None:
    """GET DATA, or STREAM FILE with escape digits; None for any other command."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    verb = " ".join(words[:2]).upper()
    if verb == "GET DATA" and len(words) > 2:
        digits = words[4] if len(words) > 4 and words[4].isdigit() else "1"
        return KeyCommand(True, words[2], int(digits))
    if verb == "STREAM FILE" and len(words) > 3 and words[3]:
        return KeyCommand(False, words[2])
    return None


@dataclass
class KeyPresser:
    """Feed it every AGI command the menu side starts (`on_command`); it says which keys to
    press now. A silent request lasts until its GET DATA; a token pressed into a leading
    part leaves the rest of its keys for the GET DATA of silence/1 that follows, if any."""

    plan: KeyPlan
    requests: int = 0
    _silent: bool = False  # inside a request answered with silence
    _rest: str | None = None  # keys after the one that interrupted a leading part

    def on_command(self, command: str) -> str:
        """The keys to press while this command runs ("" for none)."""
        asked = key_command(command)
        rest, self._rest = self._rest, None
        if asked is None:
            self._silent = False
            return ""
        if rest is not None and asked.get_data and asked.prompt == SILENT_PROMPT:
            return rest[: asked.max_digits]  # the rest of the interrupted request
        if self._silent:
            self._silent = not asked.get_data
            return ""
        self.requests += 1
        token = self.plan.next_token()
        if token == SILENCE:
            self._silent = not asked.get_data
            return ""
        if asked.get_data:
            return token[: asked.max_digits]
        self._rest = token[1:]
        return token[0]

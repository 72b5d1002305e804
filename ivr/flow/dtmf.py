"""`--dtmf`: the keys a scripted caller presses, read one way by `ivr flow simulate`,
`ivr call` and the demo's calls.

Each space-separated token answers one input request: one ask of a menu, choose, language
or collect (a retry is a new request). Digits (0-9 * #) are the keys pressed, at once when
the request's prompt starts: the first key interrupts a prompt of several parts, the rest
follow. `-` presses nothing: the whole prompt plays and the request times out. A request
takes at most its number of digits (1 for a menu); keys beyond are dropped. Requests after
the last token hear silence.
"""

from collections import deque
from collections.abc import Iterable

SILENCE = "-"
KEYS = frozenset("0123456789*#")


def parse_dtmf(text: str) -> tuple[str, ...]:
    """The tokens of a `--dtmf` text; ValueError names the first bad one."""
    tokens = tuple(text.split())
    for number, token in enumerate(tokens, 1):
        if token != SILENCE and not set(token) <= KEYS:
            raise ValueError(
                f"--dtmf: token {number} {token!r}: expected keys (0-9 * #) or - for silence"
            )
    return tokens


class KeyPlan:
    """The tokens, answered one per input request, in order."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = deque(tokens)
        self.used: list[str] = []  # the script's tokens requests have taken so far

    def next_token(self) -> str:
        """The next request's token; silence once the script is used up."""
        if not self._tokens:
            return SILENCE
        self.used.append(self._tokens.popleft())
        return self.used[-1]

    def answer(self, max_digits: int) -> str:
        """The keys the next request gets ("" for silence), at most `max_digits`."""
        token = self.next_token()
        return "" if token == SILENCE else token[:max_digits]

    @property
    def unused(self) -> tuple[str, ...]:
        return tuple(self._tokens)

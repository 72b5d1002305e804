"""Reading one AMI message: `Key: value` lines ended by CRLF, a blank line after the last.

Asterisk never escapes a header value, so caller-controlled text (caller ID name and number)
arrives inside them. Lines are split on CRLF only: `str.splitlines()` would also split on a
lone CR, VT, FF, NEL or U+2028 inside a caller name. A line without a well-formed key is
dropped. A repeated key becomes a list (Asterisk repeats `Output`, `ChanVariable`...), except
in a UserEvent: the engine's dialplan never repeats a key, so a repeat can only be text
injected through an application argument, and that UserEvent is refused.

Keys are case-insensitive (as in panoramisk's Message): `Event`, a repeat, are found in
any case. Cost per message (an engine reads thousands a second in a burst): a key is
checked and lower-cased once (kept for the first few thousand keys seen: a bounded cache,
injected keys cannot grow it), and the message is an `AmiMessage`, panoramisk's
case-insensitive Message built in one step and read without its MutableMapping detours.
"""

import logging
import re
from typing import Any

from panoramisk.message import Message

log = logging.getLogger(__name__)

_KEY = re.compile(r"[A-Za-z0-9_()./-]{1,80}")
_WITH_BODY = ("Response: Follows", "Response: Fail")  # legacy Command output: last line
_KEYS_CACHED = 4096
_folded: dict[str, str] = {}  # key -> its lower case, "" if malformed, for the keys seen first

Store = dict[str, tuple[str, str | list[str]]]  # lower-case key -> (key, value)


class AmiMessage(Message):  # type: ignore[misc]
    """panoramisk's Message (case-insensitive keys, `content`, `manager`), filled in one
    step; `get` and `in` go straight to its store."""

    def __init__(self, headers: dict[str, str | list[str]], content: str = "") -> None:
        self._fill({key.lower(): (key, value) for key, value in headers.items()}, content)

    @classmethod
    def of(cls, store: Store, content: str = "") -> "AmiMessage":
        message: AmiMessage = cls.__new__(cls)
        message._fill(store, content)
        return message

    def _fill(self, store: Store, content: str) -> None:
        store["content"] = ("content", content)  # where panoramisk keeps it too
        self._store = store
        self.manager = None

    def get(self, key: str, default: Any = None) -> Any:
        item = self._store.get(key.lower())
        return default if item is None else item[1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._store


def _fold(key: str) -> str:
    folded = key.lower() if _KEY.fullmatch(key) else ""
    if len(_folded) < _KEYS_CACHED:
        _folded[key] = folded
    return folded


def parse_message(text: str) -> AmiMessage | None:
    """A message from the text between two blank lines; None if it is not one to act on."""
    lines = text.split("\r\n")
    content = ""
    if lines[0].startswith(_WITH_BODY):
        while lines and not content:
            content = lines.pop()
    store: Store = {}
    repeated = False
    for line in lines:
        key, sep, value = line.partition(": ")
        folded = _folded.get(key) if sep else ""
        if folded is None:
            folded = _fold(key)
        if not folded:
            if line:
                log.debug("AMI line without a key dropped: %s", ascii(line[:80]))
            continue
        previous = store.get(folded)
        if previous is None:
            store[folded] = (key, value)
        else:  # a repeat in any case: a list
            repeated = True
            old = previous[1]
            store[folded] = (key, [*old, value] if isinstance(old, list) else [old, value])
    event = store.get("event")
    if event is None and "response" not in store:
        return None
    if repeated and event is not None and event[1] == "UserEvent":
        log.warning(
            "UserEvent %s with a repeated header refused (injected text?)",
            ascii(str(store.get("userevent", ("", ""))[1])[:40]),
        )
        return None
    return AmiMessage.of(store, content)

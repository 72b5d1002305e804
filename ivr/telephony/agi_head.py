"""The FastAGI request head: the `agi_name: value` lines Asterisk sends before any command.

Asterisk writes each header with a LF and never escapes the value, so caller-controlled text
(caller ID name and number, dialled digits) arrives inside them. The head is split on LF only
(CRLF tolerated): `str.splitlines()` also splits on VT, FF, FS/GS/RS, NEL, U+2028/U+2029 and
a lone CR, which let a caller name such as `Bob\\u2028agi_callerid: 380441234567` forge the
caller's number. Values are then checked:
- the headers the engine keys on (unique id, channel, script) must be plain ASCII words within
  Asterisk's own limits, else the request is refused (the dialplan's fallback serves the call);
- any other value has control characters, line separators and bidi overrides replaced by
  U+FFFD and is cut to its length limit, so nothing downstream sees them.
A repeated or malformed header name refuses the request: it can only come from a value that
carried a LF, and then no header after it can be trusted.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_HEADER_LINES = 200  # Asterisk sends ~25 agi_* headers plus the script arguments
REPLACEMENT = "\ufffd"

_NAME = re.compile(r"agi_[a-z0-9_]{1,40}")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_WORD = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no blanks

# Headers the engine keys on: refused unless a plain word within the limit. Asterisk's
# AST_MAX_UNIQUEID is 150; channel names are AST_CHANNEL_NAME (80) plus a Local suffix.
STRICT_LIMITS: Mapping[str, int] = {
    "agi_uniqueid": 150,
    "agi_channel": 160,
    "agi_network_script": 256,
}
# Caller-controlled text, cut to Asterisk's AST_MAX_EXTENSION (80) where it is a number.
TEXT_LIMITS: Mapping[str, int] = {
    "agi_callerid": 80,
    "agi_calleridname": 80,
    "agi_extension": 80,
    "agi_dnid": 80,
    "agi_rdnis": 80,
}
ARG_LIMIT = 80  # agi_arg_N: the dialplan passes the line number
DEFAULT_LIMIT = 256


class HeadRefused(ValueError):
    """The request head cannot be trusted; the call must take the dialplan's fallback."""


@dataclass(frozen=True)
class AgiHead:
    headers: dict[str, str]
    cleaned: tuple[str, ...]  # names of the headers whose value was cleaned or cut


def parse_head(block: bytes) -> AgiHead:
    """Parse the head up to (and including) its blank line; raise HeadRefused."""
    lines = block.decode("utf-8", "replace").split("\n")
    if len(lines) > MAX_HEADER_LINES + 2:
        raise HeadRefused(f"more than {MAX_HEADER_LINES} header lines")
    headers: dict[str, str] = {}
    cleaned: list[str] = []
    for raw in lines:
        line = raw.removesuffix("\r")
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not _NAME.fullmatch(name):
            raise HeadRefused(f"malformed header line {_shown(line)}")
        if name in headers:
            raise HeadRefused(f"header {name} repeated")
        value = value.removeprefix(" ")
        strict = STRICT_LIMITS.get(name)
        if strict is not None:
            if not _WORD.fullmatch(value) or len(value) > strict:
                raise HeadRefused(f"{name} is not a word of at most {strict} characters")
            headers[name] = value
            continue
        limit = _limit(name)
        safe = _UNSAFE.sub(REPLACEMENT, value)[:limit]
        if safe != value:
            cleaned.append(name)
        headers[name] = safe
    return AgiHead(headers, tuple(cleaned))


def _limit(name: str) -> int:
    if name.startswith("agi_arg_"):
        return ARG_LIMIT
    return TEXT_LIMITS.get(name, DEFAULT_LIMIT)


def _shown(line: str) -> str:
    """A refused line for the log: escaped and short."""
    return ascii(line[:60])

"""Reading one AMI message: `Key: value` lines ended by CRLF, a blank line after the last.

Asterisk never escapes a header value, so caller-controlled text (caller ID name and number)
arrives inside them. Lines are split on CRLF only: `str.splitlines()` would also split on a
lone CR, VT, FF, NEL or U+2028 inside a caller name. A line without a well-formed key is
dropped. A repeated key becomes a list (Asterisk repeats `Output`, `ChanVariable`...), except
in a UserEvent: the engine's dialplan never repeats a key, so a repeat can only be text
injected through an application argument, and that UserEvent is refused.
"""

import logging
import re

from panoramisk.message import Message

log = logging.getLogger(__name__)

_KEY = re.compile(r"[A-Za-z0-9_()./-]{1,80}")
_WITH_BODY = ("Response: Follows", "Response: Fail")  # legacy Command output: last line


def parse_message(text: str) -> Message | None:
    """A message from the text between two blank lines; None if it is not one to act on."""
    lines = text.split("\r\n")
    content = ""
    if lines[0].startswith(_WITH_BODY):
        while lines and not content:
            content = lines.pop()
    headers: dict[str, str | list[str]] = {}
    repeated = False
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep or not _KEY.fullmatch(key):
            if line:
                log.debug("AMI line without a key dropped: %s", ascii(line[:80]))
            continue
        if key in headers:
            repeated = True
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    if "Event" not in headers and "Response" not in headers:
        return None
    if repeated and headers.get("Event") == "UserEvent":
        log.warning(
            "UserEvent %s with a repeated header refused (injected text?)",
            ascii(str(headers.get("UserEvent", ""))[:40]),
        )
        return None
    return Message(headers, content)

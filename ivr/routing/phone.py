"""Which numbers the engine may call back. Pure: no I/O."""

import re

# What a carrier accepts as a destination: optional +, then digits. A withheld caller shows
# as "anonymous", "unknown" or "", which never match; nor does text injected into a field.
_CALLABLE = re.compile(r"\+?[0-9]{2,20}")


def callable_number(number: str) -> bool:
    """True when `number` is one the callback dialler may ring."""
    return _CALLABLE.fullmatch(number) is not None

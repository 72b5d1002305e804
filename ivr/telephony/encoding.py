"""Encode caller-controlled text before it goes into an AGI command or an AMI header.

Security rule: never put caller-controlled text (caller ID, DTMF, names from a CRM) into a
command unencoded. CR and LF would end the command and start a new one; NUL truncates it in C.

Two Asterisk parsers are involved:
- AGI command line (res_agi parse_args): words split on blanks, `"` groups, `\\` escapes the
  next character.
- Application arguments (AST_STANDARD_APP_ARGS, also used for AMI `Variable:` headers): split
  on `,` except inside `"..."`, `(...)` or `[...]`; `\\` makes the next character literal.
"""

import re

_LINE_BREAKERS = ("\r", "\n", "\0")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters that steer the application-argument parser.
_APP_ARG_SPECIALS = re.compile(r'([\\",()\[\]])')


class UnsafeValue(ValueError):
    """The value cannot be encoded safely; it must not reach Asterisk."""


def _reject_line_breakers(value: str, what: str) -> None:
    for char in _LINE_BREAKERS:
        if char in value:
            raise UnsafeValue(f"{what} contains {char!r} (CR, LF and NUL are refused): {value!r}")


def _escape_app_arg(value: str) -> str:
    """Make every character of one application argument literal."""
    return _APP_ARG_SPECIALS.sub(r"\\\1", value)


def agi_quote(value: str) -> str:
    """One AGI command argument, e.g. SET VARIABLE's value or a STREAM FILE name."""
    _reject_line_breakers(value, "AGI argument")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def agi_exec_args(*args: str) -> str:
    """The argument word of `EXEC <app> <args>`: one application argument per value.

    Each value is escaped for the application parser (so a comma cannot split it and a
    parenthesis cannot swallow the next separator), then quoted for the AGI parser.
    """
    for arg in args:
        _reject_line_breakers(arg, "EXEC argument")
        unescaped = arg.replace("\\", "")  # what an application would see after unescaping
        if "${" in unescaped or "$[" in unescaped:
            raise UnsafeValue(f"EXEC argument contains a dialplan expression: {arg!r}")
    return agi_quote(",".join(_escape_app_arg(arg) for arg in args))


def ami_header(value: str) -> str:
    """An AMI header value: returned unchanged once it cannot end the header or the message."""
    _reject_line_breakers(value, "AMI header")
    return value


def ami_variable(name: str, value: str) -> str:
    """One `Variable: name=value` header of Originate or Setvar."""
    if not _VARIABLE_NAME.fullmatch(name):
        raise UnsafeValue(f"invalid channel variable name: {name!r}")
    _reject_line_breakers(value, "AMI variable")
    return f"{name}={_escape_app_arg(value)}"

"""Reading API input: JSON bodies and query parameters, checked field by field.

Every problem is a 400 with {"error": "<field>: <what is expected>"}; the text limits come
from ivr.storage.limits (the storage writers use the same ones) and are the ones
ivr/web/openapi.yaml declares (a test holds them together).
"""

import json
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from ivr.storage.desk import clean
from ivr.storage.directory import normalise_phone
from ivr.storage.limits import PHONE, SHORT
from ivr.web.reply import bad, error

MAX_PHONES = 20
MAX_ID = 2**31 - 1
MAX_WINDOW_DAYS = 31  # the longest report window the API reads; longer: `ivr report`

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
EXAMPLE_TIME = "2026-11-24T09:00:00+02:00"
_WHOLE = re.compile(r"-?[0-9]{1,12}(\.0*)?")  # JSON Schema: 45.0 is an integer
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def parse_time(name: str, text: str) -> datetime:
    """An RFC 3339 date-time with a time zone, in UTC (clamped to the representable years:
    0001-01-01T00:00:00+01:00 is before the first UTC instant Python has)."""
    if not _RFC3339.fullmatch(text):
        raise bad(name, f"expected a date-time with a time zone ({EXAMPLE_TIME}), got {text!r}")
    text = text.upper()
    leap = text[17:19] == "60"  # a leap second: the next instant
    if leap:
        text = f"{text[:17]}59{text[19:]}"  # (datetime has no second 60)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad(name, f"no such date-time: {text!r}") from None
    try:
        return value.astimezone(UTC) + timedelta(seconds=1 if leap else 0)
    except OverflowError:
        return EARLIEST if value.year < 2 else LATEST


class Body:
    """A request's JSON object; unknown fields are refused (a misspelt field is an error,
    not silently lost data)."""

    def __init__(self, data: Mapping[str, Any], fields: Collection[str]) -> None:
        for key in data:
            if key not in fields:
                raise bad(key, f"unknown field (expected: {', '.join(fields)})")
        self._data = data

    def has(self, name: str) -> bool:
        return name in self._data

    def text(self, name: str, limit: int = SHORT, *, required: bool = False) -> str:
        """Trimmed text ("" when absent); `required`: present and not blank."""
        if name not in self._data:
            if required:
                raise bad(name, "required")
            return ""
        value = self._data[name]
        if not isinstance(value, str):
            raise bad(name, "expected text")
        if len(value) > limit:
            raise bad(name, f"expected at most {limit} characters, got {len(value)}")
        text = clean(value)
        if required and not text:
            raise bad(name, "must not be blank")
        return text

    def word(self, name: str, limit: int = SHORT) -> str | None:
        """Optional text that, when given, must not be blank (a contract number...)."""
        if name not in self._data:
            return None
        return self.text(name, limit, required=True)

    def phone(self, name: str, *, required: bool = False) -> str:
        """A phone as typed (the store normalises it): it must hold a digit."""
        text = self.text(name, PHONE, required=required)
        if name in self._data and not normalise_phone(text):
            raise bad(name, f"expected a phone number with digits, got {text!r}")
        return text

    def phones(self, name: str) -> list[str]:
        value = self._data.get(name, [])
        if not isinstance(value, list):
            raise bad(name, "expected a list of phone numbers")
        if len(value) > MAX_PHONES:
            raise bad(name, f"expected at most {MAX_PHONES} phone numbers")
        for item in value:
            if not isinstance(item, str) or len(item) > PHONE or not normalise_phone(item):
                raise bad(name, f"expected phone numbers with digits, got {item!r}")
        return list(value)

    def choice(self, name: str, options: Collection[str]) -> str:
        value = self._data.get(name)
        if value not in options:
            raise bad(name, f"expected one of {', '.join(options)}")
        assert isinstance(value, str)
        return value

    def integer(self, name: str) -> int | None:
        if name not in self._data:
            return None
        value = self._data[name]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise bad(name, f"expected a whole number 1..{MAX_ID}")
        return value

    def time(self, name: str) -> datetime | None:
        if name not in self._data:
            return None
        value = self._data[name]
        if not isinstance(value, str):
            raise bad(name, "expected a date-time with a time zone")
        return parse_time(name, value)


async def read_body(request: web.Request, fields: Collection[str]) -> Body:
    """The JSON object sent; 400 when it is missing, malformed or not an object."""
    if not request.body_exists:
        raise bad("body", "expected a JSON object, got nothing")
    try:
        data = json.loads(await request.read())
    except (ValueError, RecursionError):  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise bad("body", "expected a JSON object, got malformed JSON") from None
    if not isinstance(data, dict):
        raise bad("body", f"expected a JSON object, got {type(data).__name__}")
    return Body(data, fields)


# --- query parameters -------------------------------------------------------------------


def query_text(request: web.Request, name: str, limit: int = SHORT) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    if len(value) > limit:
        raise bad(name, f"expected at most {limit} characters, got {len(value)}")
    return clean(value) or None


def query_word(request: web.Request, name: str, limit: int = SHORT) -> str | None:
    """Like query_text, but a value given must not be blank."""
    value = query_text(request, name, limit)
    if value is None and name in request.query:
        raise bad(name, "must not be blank")
    return value


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    if not _WHOLE.fullmatch(value) or not lo <= int(float(value)) <= hi:
        raise bad(name, f"expected a whole number {lo}..{hi}, got {value!r}")
    return int(float(value))


def query_id(request: web.Request, name: str) -> int | None:
    """An optional id (1..MAX_ID)."""
    if name not in request.query:
        return None
    return query_int(request, name, 1, 1, MAX_ID)


def query_time(request: web.Request, name: str) -> datetime | None:
    """A time in the query; an offset's "+" typed unencoded arrives as a space."""
    value = request.query.get(name)
    if value is None:
        return None
    return parse_time(name, _UNENCODED_PLUS.sub(r"+\1", value))


_UNENCODED_PLUS = re.compile(r" (\d{2}:?\d{2})$")


def query_choice(request: web.Request, name: str, options: Collection[str]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in options:
        raise bad(name, f"expected one of {', '.join(options)}, got {value!r}")
    return value


def query_bool(request: web.Request, name: str) -> bool | None:
    value = query_choice(request, name, ("true", "false"))
    return None if value is None else value == "true"


def path_id(request: web.Request, what: str) -> int:
    """The {id} in the path; 404 when it cannot be one (the router let only digits in)."""
    text = request.match_info["id"]
    if len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        raise error(404, f"no such {what}: {text}")
    return int(text)


def bounded_window(since: datetime, until: datetime) -> None:
    """400 unless `since` < `until` <= `since` + MAX_WINDOW_DAYS."""
    if until <= since:
        raise bad("until", f"expected a time after since ({since.isoformat()})")
    if until - since > timedelta(days=MAX_WINDOW_DAYS):
        raise bad("until", f"expected at most {MAX_WINDOW_DAYS} days after since")

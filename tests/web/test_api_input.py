"""Reading API times: RFC 3339 with a time zone, in UTC; representable at the extremes."""

from datetime import UTC, datetime

import pytest
from aiohttp import web

from ivr.web.input import EARLIEST, LATEST, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:00:00Z", datetime(2026, 11, 24, 9, tzinfo=UTC)),
        ("2026-11-24t11:00:00.5+02:00", datetime(2026, 11, 24, 9, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-24T09:00:00.1234567z", datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),  # a leap second
        ("0001-01-01T00:00:00+01:00", EARLIEST),  # before the first instant Python has
        ("9999-12-31T23:59:59-01:00", LATEST),
    ],
)
def test_times_are_read_in_utc(text: str, expected: datetime) -> None:
    assert parse_time("at", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24T09:00:00",
        "2026-11-24 09:00:00Z",
        "20261124T090000Z",
        "2026-02-30T09:00:00Z",
        "2026-11-24T24:00:00Z",
        "сьогодні",
        "2026-11-24T09:00:00+0200",
    ],
)
def test_other_times_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(web.HTTPBadRequest) as refused:
        parse_time("since", text)
    assert refused.value.text is not None and refused.value.text.startswith('{"error": "since: ')

"""Fakes for the step tests: an in-memory subscriber directory and outage board, a fixed
clock, recorded events, TextSpeech and a scripted caller; `Env.run` builds a FlowLibrary
from a dict of nodes (flow "f", starting at its first node) and runs a call through it."""

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from ivr.calls.simulate import ScriptedCaller, TextSpeech
from ivr.events.model import Event
from ivr.flow.calendar import parse_calendar
from ivr.flow.context import CallInfo, FlowServices, StepContext
from ivr.flow.loader import Names, parse_flow
from ivr.flow.model import FlowLibrary, Line, Sphere
from ivr.flow.prompts import parse_catalog
from ivr.flow.runner import FlowOutcome, new_context, run_flow
from ivr.subscribers import Outage, Subscriber
from ivr.yamlfiles.problems import Problems

NOON = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday 12:00 in Kyiv (UTC+2)
CALLER = "0441112233"
LINE = Line("5551000", Sphere.SERVICE, "Kyiv", "site", "f")
EN_LINE = Line("5551001", Sphere.CONNECTIONS, "Odesa", "leaflet", "f", "en")
RU_LINE = Line("5551002", Sphere.AUDIT, "Lviv", "bill", "f", "ru")
UNKNOWN_NUMBER = "5559999"  # in no line: the default flow, the default language

PROMPTS: dict[str, Any] = {
    "languages": ["uk", "ru", "en"],
    "default_language": "uk",
    "prompts": {
        "ask": {"sound": "ask"},
        "invalid": {"sound": "invalid"},
        "beep": {"sound": "beep"},
        "hello": {"uk": "Привіт", "ru": "Привет", "en": "Hello"},
        "bye": {"uk": "До побачення", "en": "Goodbye"},  # no ru: ru callers hear uk
    },
}
CALENDAR: dict[str, Any] = {
    "timezone": "Europe/Kyiv",
    "holidays": ["2026-12-25", "2027-01-01"],
    "schedules": {
        "operators": {"mon-sat": "08:00-22:00"},
        "meters": {"daily": "00:00-24:00", "holidays": "open"},
        "night": {"daily": "22:00-08:00"},
    },
}

IVAN = Subscriber(
    id=7,
    contract="12345678",
    full_name="Іван Петренко",
    address="Lviv, Shevchenka 1",
    city="Lviv",
    region_office="Lviv west",
    phones=(CALLER, "0671234567"),
)
OLENA = Subscriber(
    id=8,
    contract="87654321",
    full_name="Олена Коваль",
    address="Kyiv, Khreshchatyk 5",
    city="Kyiv",
    region_office="Kyiv centre",
    phones=("0449998877",),
)

END: dict[str, Any] = {"type": "hangup"}  # a terminal node: the path ends with "<id>:hangup"


@dataclass
class FakeDirectory:
    """The subscriber store and outage board in memory; every query is logged in `lookups`.
    Outages match like the store's: same area (case-folded), the service or "" (all)."""

    subscribers: list[Subscriber] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    lookups: list[tuple[str, str]] = field(default_factory=list)
    outage_times: list[datetime] = field(default_factory=list)

    async def subscriber_by_phone(self, phone: str) -> Subscriber | None:
        self.lookups.append(("phone", phone))
        return next((s for s in self.subscribers if phone in s.phones), None)

    async def subscriber_by_contract(self, contract: str) -> Subscriber | None:
        self.lookups.append(("contract", contract))
        return next((s for s in self.subscribers if s.contract == contract), None)

    async def active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        self.lookups.append(("outage", f"{area}/{service}"))
        self.outage_times.append(at)
        for outage in self.outages:
            if outage.area.casefold() == area.casefold() and outage.service in (service, ""):
                return outage
        return None


@dataclass
class Clock:
    at: datetime = NOON

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Caller(ScriptedCaller):
    """ScriptedCaller that also notes how many digits each question allowed."""

    max_digits: list[int] = field(default_factory=list)

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        self.max_digits.append(max_digits)
        return await super().ask(prompts, timeout_ms, max_digits)


def _parsed(parse: Any, data: Mapping[str, Any], file: str) -> Any:
    problems = Problems(file)
    result = parse(data, problems)
    assert not problems.errors, [str(p) for p in problems.errors]
    return result


def build_library(
    nodes: Mapping[str, Any],
    *,
    flows: Mapping[str, Mapping[str, Any]] | None = None,
    prompts: Mapping[str, Any] = PROMPTS,
    calendar: Mapping[str, Any] = CALENDAR,
    lines: tuple[Line, ...] = (LINE, EN_LINE, RU_LINE),
) -> FlowLibrary:
    """Flow "f" from `nodes` (plus other `flows`), validated as the loader does."""
    catalog = _parsed(parse_catalog, prompts, "prompts.yaml")
    hours = _parsed(parse_calendar, calendar, "calendar.yaml")
    every = {"f": nodes, **(flows or {})}
    names = Names(catalog.prompts, catalog.languages, hours.schedules, set(every))
    parsed = {
        name: parse_flow(
            {"name": name, "start": next(iter(flow_nodes)), "nodes": dict(flow_nodes)},
            f"{name}.yaml",
            names,
        )
        for name, flow_nodes in every.items()
    }
    return FlowLibrary(parsed, {line.number: line for line in lines}, "f", catalog, hours)


@dataclass
class Call:
    ctx: StepContext
    port: Caller
    outcome: FlowOutcome | None = None

    @property
    def heard(self) -> list[str]:
        return self.port.heard

    @property
    def asks(self) -> int:
        return len(self.port.asked)

    @property
    def path(self) -> list[str]:
        return self.ctx.path

    @property
    def vars(self) -> dict[str, str]:
        return self.ctx.vars

    @property
    def ended_at(self) -> str:
        """The hangup node the call ended at."""
        assert self.outcome is not None and self.outcome.route is None, self.outcome
        node, _, what = self.path[-1].partition(":")
        assert what == "hangup", self.path
        return node


class Env:
    """One call's world: directory, clock and the events the flow records."""

    def __init__(self) -> None:
        self.directory = FakeDirectory()
        self.clock = Clock()
        self.records: list[Event] = []
        self.services = FlowServices(self.directory, TextSpeech(), self.records.append, self.clock)

    def call(
        self,
        flow: Mapping[str, Any] | FlowLibrary,
        *keys: str | None,
        caller: str = CALLER,
        number: str = LINE.number,
    ) -> Call:
        """A call entering the flow, not run yet; `keys` answer each question in turn
        (None: silence)."""
        library = flow if isinstance(flow, FlowLibrary) else build_library(flow)
        port = Caller(deque(keys))
        info = CallInfo("call-1", number, caller, library.lines.get(number))
        return Call(new_context(library, info, port, self.services), port)

    async def run(
        self,
        flow: Mapping[str, Any] | FlowLibrary,
        *keys: str | None,
        caller: str = CALLER,
        number: str = LINE.number,
    ) -> Call:
        call = self.call(flow, *keys, caller=caller, number=number)
        call.outcome = await run_flow(call.ctx)
        return call


@pytest.fixture
def env() -> Env:
    return Env()

"""What a running flow knows about its call and what it may ask of the rest of the engine.

Steps read the call (line, caller, variables, language, identified subscriber) and use
three collaborators given by the wiring point: the subscriber/outage `Directory` (reads),
`Speech` (text to a sound Asterisk can play) and `record` (domain events, written off the
call path by storage).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ivr.events.model import Event
from ivr.flow.model import FlowLibrary, Line
from ivr.flow.port import CallPort
from ivr.subscribers import Outage, Subscriber


class Directory(Protocol):
    """The shared subscriber database and the outage board (reads only)."""

    async def subscriber_by_phone(self, phone: str) -> Subscriber | None: ...

    async def subscriber_by_contract(self, contract: str) -> Subscriber | None: ...

    async def active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        """The outage for `area` covering `service` (or all services) active at `at`;
        `service` "" asks for an outage of any service."""
        ...


class Speech(Protocol):
    async def sound_for(self, text: str, language: str) -> str:
        """The name of a sound file Asterisk can play that says `text` in `language`."""
        ...


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    number: str  # the dialled line (DID)
    caller: str  # the caller's number (ANI), "" when withheld
    line: Line | None  # None: the number is not in lines.yaml


@dataclass(frozen=True)
class FlowServices:
    """The engine's collaborators a flow uses (given by the wiring point)."""

    directory: Directory
    speech: Speech
    record: Callable[[Event], None]
    now: Callable[[], datetime]


@dataclass
class StepContext:
    """The state of one call in the menu. `vars` hold what the caller entered and what
    steps found out; `path` is the trail shown in the journal and the simulator."""

    call: CallInfo
    port: CallPort
    library: FlowLibrary
    services: FlowServices
    language: str
    flow: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    subscriber: Subscriber | None = None
    path: list[str] = field(default_factory=list)

    @property
    def directory(self) -> Directory:
        return self.services.directory

    @property
    def speech(self) -> Speech:
        return self.services.speech

    def record(self, event: Event) -> None:
        self.services.record(event)

    def now(self) -> datetime:
        return self.services.now()

"""What the REST API works with (built in ivr/app.py) and who may call what."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.events.model import Event
from ivr.flow.loader import Validation
from ivr.flow.reload import FlowReloader
from ivr.queues.model import QueuesConfig
from ivr.storage.desk import DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.gate import StorageGate
from ivr.storage.health import DatabaseState
from ivr.storage.reports import ReportRepository
from ivr.web.tokens import ROLES, TokenBook

ANY_ROLE = ROLES  # reads of personal data, desk filings
MANAGERS = ("supervisor", "admin")  # the directory, the outage board, flows
API_DB_WORKERS = 4  # threads the API's storage calls run on (ivr.storage.gate)


@dataclass(frozen=True)
class ApiDeps:
    tokens: TokenBook  # who each API token is (ivr.web.tokens.load_tokens)
    directory: StoreDirectory
    reports: ReportRepository
    desk: DeskStore
    publish: Callable[[Event], None]  # the engine's notifier (CallbackRequested...)
    flows: FlowReloader  # .library (lines), await .reload()
    validate_flows: Callable[[], Validation]  # blocking: validate flows/ on disk now
    now: Callable[[], datetime]  # aware, UTC
    queues: Callable[[], QueuesConfig]  # the queues configuration in force
    # An account was edited (phones reconciled): the screen pops showing it read it again.
    subscriber_changed: Callable[[int], None] = lambda _id: None
    # Where the API's blocking store calls run, with a timeout (the engine gives its own).
    storage: StorageGate = field(
        default_factory=lambda: StorageGate("api", API_DB_WORKERS, 10.0, DatabaseState())
    )

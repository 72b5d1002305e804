"""What the web tests share: tokens, a settable clock, AMI-free agent actions, the app."""

import dataclasses
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from ivr.app import Engine
from ivr.config import PROJECT_ROOT, load_settings
from ivr.events.model import Event
from ivr.flow.loader import Validation, validate_library
from ivr.flow.reload import Accepted, FlowReloader
from ivr.monitors.agents import AgentBoard
from ivr.queues.model import QueuesConfig, load_queues
from ivr.storage.db import migrate
from ivr.storage.desk import DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.flow_history import FlowHistory
from ivr.storage.gate import StorageGate
from ivr.storage.health import DatabaseState
from ivr.storage.outage_alerts import OutageAlertStore
from ivr.storage.prediction import PredictionRepository
from ivr.storage.reports import ReportRepository
from ivr.storage.repository import JournalRepository
from ivr.storage.service_level import ServiceLevelRepository
from ivr.storage.staffing import StaffingRepository
from ivr.web import keys
from ivr.web.app import make_web_app
from ivr.web.tokens import Principal, TokenBook, load_tokens, token_entry

ADMIN = "admin-token-0123456789"
SUPERVISOR = "supervisor-token-0123456789"
AGENT = "agent-1001-token-0123456789"  # agent 1001's own token
AGENT_B = "agent-1002-token-0123456789"  # agent 1002's
# The token list as an admin writes it: hashes only (what the engine is configured with).
TOKEN_LIST = ",".join(
    token_entry(who, token)
    for who, token in (
        (Principal("admin"), ADMIN),
        (Principal("supervisor"), SUPERVISOR),
        (Principal("agent", "1001"), AGENT),
        (Principal("agent", "1002"), AGENT_B),
    )
)
TOKENS: TokenBook = load_tokens(TOKEN_LIST)
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
QUEUES: QueuesConfig = load_queues(PROJECT_ROOT / "queues.yaml")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class Members:
    """app_queue member actions without Asterisk (the only fake: the AMI side)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def add_member(
        self,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int,
        paused: bool,
        state_interface: str = "",
    ) -> None:
        self.calls.append(("add", queue, member_name))

    async def remove_member(self, queue: str, interface: str) -> None:
        self.calls.append(("remove", queue, interface))

    async def pause_member(self, interface: str, paused: bool, reason: str = "") -> None:
        self.calls.append(("pause", interface, paused, reason))

    async def status(self) -> list[Mapping[str, str]]:
        return []


def copy_flows(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows"))


def flow_reloader(flows: Path) -> FlowReloader:
    """The real reloader on a copy of flows/; spoken prompts are not rendered."""

    def render(items: Iterable[tuple[str, str]]) -> int:
        return 0

    return FlowReloader(flows, validate_flows, render, 0.05)


def validate_flows(flows: Path) -> Validation:
    return validate_library(flows, QUEUES.queues, QUEUES.caller_classes)


def live_queues(board: AgentBoard) -> Mapping[str, Any]:
    """GET /api/queues without the AMI monitors: nobody waits, nobody talks."""
    agents = board.agents()
    return {
        "queues": {
            name: {
                "title": spec.title,
                "answer_target": spec.answer_target,
                "waiting": [],
                "agents": {a.id: a.state for a in agents if name in a.queues},
                "talking": 0,
            }
            for name, spec in QUEUES.queues.items()
        }
    }


class Kit:
    """The app on real stores; `published` holds what the API published."""

    def __init__(self, sessions: sessionmaker[Session], flows: Path, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.published: list[Event] = []
        self.changed: list[int] = []  # accounts the API told the screen pop about
        self.members = Members()
        self.board = AgentBoard(lambda: QUEUES, self.members, self.published.append)
        self.reloader = flow_reloader(flows)
        self.flows = flows
        self.history = FlowHistory(sessions)
        self.reloader.recorders.append(self._record_flows)
        self.directory = StoreDirectory(sessions, "380")
        self.reports = ReportRepository(sessions)
        self.desk = DeskStore(sessions, "380")
        self.outage_alerts = OutageAlertStore(sessions)
        self.storage = StorageGate("api", 4, 10.0, DatabaseState())  # the API's own
        self.writers: list[Any] = []  # extra listeners (a ReportWriter)

    async def _record_flows(self, accepted: Accepted) -> None:
        await self.storage.run(self.history.record, accepted.files, accepted.who, self.clock.now())

    def publish(self, event: Event) -> None:
        self.published.append(event)
        for writer in self.writers:
            writer(event)

    def app(self) -> web.Application:
        """Every route; what the REST API, the journal and the agents' routes work with."""
        app = make_web_app()
        app[keys.HEALTH] = lambda: {"ok": True, "ami_connected": False}
        app[keys.JOURNAL] = JournalRepository(self.sessions)
        app[keys.TOKENS] = TOKENS
        app[keys.STORAGE] = self.storage
        app[keys.DIRECTORY] = self.directory
        app[keys.REPORTS] = self.reports
        app[keys.DESK] = self.desk
        app[keys.PUBLISH] = self.publish
        app[keys.FLOWS] = self.reloader
        app[keys.FLOW_HISTORY] = self.history
        app[keys.VALIDATE_FLOWS] = lambda: validate_flows(self.flows)
        app[keys.NOW] = self.clock.now
        app[keys.QUEUES] = lambda: QUEUES
        app[keys.SUBSCRIBER_CHANGED] = self.changed.append
        app[keys.AGENTS] = self.board
        app[keys.LIVE_QUEUES] = lambda: live_queues(self.board)
        app[keys.LIVE_AGENTS] = lambda: [a.view() for a in self.board.agents()]
        app[keys.SERVICE_LEVEL] = ServiceLevelRepository(self.sessions)
        app[keys.PREDICTION] = PredictionRepository(self.sessions)
        app[keys.OUTAGE_ALERTS] = self.outage_alerts
        app[keys.STAFFING] = StaffingRepository(self.sessions)
        return app


def engine_for_tests(base: Path) -> Engine:
    """The engine as ivr/app.py builds it, on SQLite in `base` and a copy of flows/, not
    started (no Asterisk): agent commands go to fake member actions."""
    url = f"sqlite:///{base / 'ivr.db'}"
    migrate(url)
    settings = dataclasses.replace(
        load_settings(env={}),
        database_url=url,
        flows_dir=str(copy_flows(base)),
        var_dir=str(base / "var"),
    )
    engine = Engine(settings)
    engine.site.agents = AgentBoard(lambda: engine.queues, Members(), engine.notifier.publish)
    return engine

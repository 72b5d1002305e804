"""The one wiring point: builds every object of the engine and starts/stops them."""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ivr.config import Settings
from ivr.events.from_ami import AmiEventTranslator
from ivr.events.notifier import Notifier
from ivr.flow.context import FlowServices
from ivr.flow.loader import validate_library
from ivr.flow.model import FlowLibrary
from ivr.flow.reload import FlowReloader
from ivr.queues.model import QueuesConfig, load_queues
from ivr.speech.espeak import SpeechRenderer
from ivr.storage.db import make_engine, make_session_factory, migrate
from ivr.storage.directory import StoreDirectory
from ivr.storage.journal import CallJournal
from ivr.storage.reports import ReportWriter
from ivr.storage.repository import JournalRepository
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.agi import AgiHandler, FastAgiServer
from ivr.telephony.ami import AmiClient
from ivr.telephony.inbound import InboundCall
from ivr.web.app import make_web_app

log = logging.getLogger(__name__)


class Engine:
    """FastAGI server + AMI client + HTTP server in one asyncio process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Configuration is validated before anything starts: a bad flow fails loudly here.
        self.queues: QueuesConfig = load_queues(settings.queues_file)
        self.speech = SpeechRenderer(
            settings.resolved_prompt_cache_dir(), settings.prompt_sound_prefix
        )
        self.flow_reloader = FlowReloader(
            settings.flows_dir,
            lambda: validate_library(
                settings.flows_dir, self.queues.queues, self.queues.caller_classes
            ),
            self.speech.render_all,
            settings.flows_poll_interval,
        )
        self.notifier = Notifier()
        self.tasks = TaskSet("engine")
        self.db = make_engine(settings.database_url)
        sessions = make_session_factory(self.db)
        self.journal = CallJournal(sessions)
        self.reports = ReportWriter(sessions)
        self.repository = JournalRepository(sessions)
        self.directory = StoreDirectory(sessions, settings.phone_country_code)
        self.notifier.subscribe(self.journal)
        self.notifier.subscribe(self.reports)
        self.services = FlowServices(
            self.directory, self.speech, self.notifier.publish, lambda: datetime.now(UTC)
        )
        self.ami: AmiClient | None = None
        self.agi: FastAgiServer | None = None
        self._servers: list[asyncio.Server] = []
        self._http: web.AppRunner | None = None

    @property
    def flows(self) -> FlowLibrary:
        """The flows serving new calls (replaced whole on reload)."""
        return self.flow_reloader.library

    def routes(self) -> Mapping[str, AgiHandler]:
        """The AGI route table: names equal the agi://host/<name> in dialplans/."""
        return {
            names.ROUTE_INBOUND: InboundCall(
                lambda: self.flows, lambda: self.queues, self.notifier, self.services
            ),
        }

    async def start(self) -> None:
        s = self.settings
        await asyncio.to_thread(migrate, s.database_url)
        self.tasks.spawn(self.journal.run(), name="journal")
        self.tasks.spawn(self.reports.run(), name="reports")
        self.tasks.spawn(self.flow_reloader.watch(), name="flows-watch")
        self.ami = AmiClient(s.ami_host, s.ami_port, s.ami_user, s.resolved_ami_secret())
        translator = AmiEventTranslator(self.notifier)
        for pattern in ("UserEvent", "QueueCallerJoin", "Hangup"):
            self.ami.on_event(pattern, translator)
        self.tasks.spawn(self._connect_ami(), name="ami-connect")
        self.agi = FastAgiServer(self.routes(), command_timeout=s.agi_command_timeout)
        self._servers.append(await self.agi.start(s.agi_host, s.agi_port))
        self._http = web.AppRunner(make_web_app(self.repository, self.health), access_log=None)
        await self._http.setup()
        await web.TCPSite(self._http, s.http_host, s.http_port).start()
        log.info(
            "engine up: FastAGI %s:%s, HTTP %s:%s, AMI %s:%s",
            s.agi_host,
            s.agi_port,
            s.http_host,
            s.http_port,
            s.ami_host,
            s.ami_port,
        )

    async def _connect_ami(self) -> None:
        """AGI calls are served even while AMI is unreachable; the client keeps retrying."""
        assert self.ami is not None
        await self.ami.connect(wait=None)

    def health(self) -> Mapping[str, Any]:
        ami_up = bool(self.ami and self.ami.connected)
        return {
            "ok": self.agi is not None,
            "ami_connected": ami_up,
            "agi_active": self.agi.active if self.agi else 0,
            "journal_pending": self.journal.pending,
        }

    async def stop(self) -> None:
        if self.agi:
            await self.agi.close()
        if self._http:
            await self._http.cleanup()
        await self.journal.stop()
        await self.reports.stop()
        if self.ami:
            await self.ami.close()
        await self.tasks.cancel_all()
        self.db.dispose()

"""The one wiring point: builds every object of the engine and starts/stops them."""

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from ivr.asterisk_site import AsteriskSite, SiteServices
from ivr.calls.inbound import InboundCall
from ivr.clock import LoopClock
from ivr.config import Settings
from ivr.events.notifier import Notifier
from ivr.fd_budget import FdBudget, take_budget
from ivr.flow.callback_window import unknown_hours
from ivr.flow.context import FlowServices
from ivr.flow.loader import Validation, validate_library
from ivr.flow.model import FlowLibrary
from ivr.flow.prompts import ANY_LANGUAGE, Text, fill
from ivr.flow.reload import Accepted, FlowReloader
from ivr.ha.live import LivePublisher, LiveReader
from ivr.ha.ownership import Ownership
from ivr.monitors.agents import AgentBoard
from ivr.monitors.live_json import floor_from_json, floor_json
from ivr.monitors.outage_watch import OutageWatch
from ivr.monitors.predict import HandleTimes
from ivr.monitors.supervise import Supervision
from ivr.monitors.talk import TalkMonitor
from ivr.monitors.waiting import WaitingMonitor
from ivr.queues.model import QueuesConfig
from ivr.queues.reload import QueuesReloader, write_queues_conf
from ivr.speech.espeak import SpeechRenderer
from ivr.storage.agent_log import AgentLog
from ivr.storage.batch import BatchWriter, Outbox, WriterStats
from ivr.storage.callbacks import CallbackStore
from ivr.storage.db import DbTimeouts, make_engine, make_session_factory, migrate
from ivr.storage.dead_letters import DeadLetterStore
from ivr.storage.desk import DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.flow_history import FlowHistory
from ivr.storage.gate import GuardedDirectory, StorageGate
from ivr.storage.guards import DatabaseGuards
from ivr.storage.journal import CallJournal
from ivr.storage.kpi import KpiRepository
from ivr.storage.live_state import LiveStateStore
from ivr.storage.marks import Marks
from ivr.storage.outage_alerts import OutageAlertStore
from ivr.storage.prediction import PredictionRepository
from ivr.storage.recordings import Recordings
from ivr.storage.reports import ReportRepository, ReportWriter
from ivr.storage.repository import JournalRepository
from ivr.storage.service_level import ServiceLevelRepository
from ivr.storage.spool import Spool
from ivr.storage.staffing import StaffingRepository
from ivr.storage.supervision import SupervisionLog
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.agi import AgiHandler, FastAgiServer
from ivr.telephony.ami import AmiClient
from ivr.telephony.queue_actions import QueueActions
from ivr.watchdog.notify import SdNotifier
from ivr.web import keys
from ivr.web.app import make_web_app
from ivr.web.limits import HttpLimits, StreamSlots
from ivr.web.live.board import LiveBoard
from ivr.web.live.sources import LiveSources, LocalFloor
from ivr.web.metrics import metrics_registry
from ivr.web.metrics_database import DatabaseCollector
from ivr.web.screen_pop import ScreenPop
from ivr.web.server import LINGERING_TIME, ConnectionGuard, GuardedSite
from ivr.web.tokens import TokenBook, load_tokens
from ivr.yamlfiles.problems import Problem

log = logging.getLogger(__name__)

DEAD_LETTER_FILE = "dead_letters.jsonl"  # in the var/ directory
CLAIM_WORKERS = 4  # threads claiming live steps (a burst of due steps after a takeover)


class Engine:
    """FastAGI server + AMI client + HTTP server in one asyncio process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._load_configuration(settings)
        self.notifier = Notifier()
        self.recordings = Recordings(
            lambda: settings.resolved_recordings_dir(self.queues.recordings.directory),
            lambda: self.queues.recordings,
        )
        self.tasks = TaskSet("engine")
        self.clock = LoopClock()  # the one clock of the queue monitors and the AMI events
        self.watchdog = SdNotifier.from_env()  # systemd or `ivr supervise`, if either listens
        sessions = self._open_storage(settings)
        self.services = FlowServices(
            GuardedDirectory(self.directory, self.database.calls),
            self.speech,
            self.notifier.publish,
            self.clock.wall,
        )
        self._telephony(settings, sessions)
        queues = lambda: self.queues  # noqa: E731 - read per use: a reload swaps it
        # The web side: the live board (dashboard, /metrics) and the agents' screen pop.
        self._live_state(settings, sessions)
        self.live = LiveBoard(
            waiting=self.live_sources.waiting,
            talking=self.live_sources.talking,
            agents=self.live_sources.agents,
            live_status=self.live_sources.status,
            queues=queues,
            flows=lambda: self.flows,
            service_level=self.service_level,
            reports=self.report_repository,
            kpi=self.kpi,
        )
        self.notifier.subscribe(self.live.on_event)
        self.screen_pop = ScreenPop(
            self.directory, lambda: self.flows.lines, self.tasks, run=self.database.api.run
        )
        self.notifier.subscribe(self.screen_pop)
        self.queues_reloader.applied.append(self._apply_queues)
        self.agi: FastAgiServer | None = None
        self._servers: list[asyncio.Server] = []
        self._http: web.AppRunner | None = None
        # HTTP limits from the settings; start() lowers the caps to the fd budget.
        self.http_limits = HttpLimits(
            header_timeout=settings.http_header_timeout,
            keepalive_timeout=settings.http_keepalive_timeout,
            body_timeout=settings.http_body_timeout,
            max_body_bytes=settings.http_max_body_bytes,
            max_connections=settings.http_max_connections,
            max_streams=settings.http_max_streams,
        )
        self.streams = StreamSlots(self.http_limits.max_streams)
        self.http_guard: ConnectionGuard | None = None

    def _load_configuration(self, settings: Settings) -> None:
        """Configuration is validated before anything starts: a bad file fails loudly here."""
        self.tokens = load_tokens(settings.api_tokens, settings.api_tokens_file)
        self.queues_reloader = QueuesReloader(
            settings.queues_file, self._flow_problems, settings.flows_poll_interval
        )
        self.speech = SpeechRenderer(
            settings.resolved_prompt_cache_dir(), settings.prompt_sound_prefix
        )
        self.flow_reloader = FlowReloader(
            settings.flows_dir,
            lambda directory: self._validate_flows(self.queues, directory),
            self.speech.render_all,
            settings.flows_poll_interval,
        )

    def _open_storage(self, settings: Settings) -> sessionmaker[Session]:
        """The database, its guards, the writers (listening to the notifier) and the
        repositories; returns the session factory."""
        timeouts = DbTimeouts(
            statement=settings.db_statement_timeout, pool=settings.db_pool_timeout
        )
        self.db = make_engine(settings.database_url, timeouts=timeouts)
        # The call path and the API wait on the database only so long (ivr.storage.gate).
        self.database = DatabaseGuards(
            self.db, settings.db_call_timeout, settings.db_api_timeout, settings.db_probe_interval
        )
        sessions = make_session_factory(self.db)
        # Storage: writers listen to the notifier (off the call path); repositories read.
        # Rows the database refuses go to the dead letters (table, else var/ file).
        dead_letters = DeadLetterStore(sessions, Path(settings.var_dir) / DEAD_LETTER_FILE)
        # Each writer's events go to its outbox on disk first (kill -9 loses none).
        marks = Marks(sessions)

        def outbox(name: str) -> Outbox:
            s = settings
            spool = Spool(
                s.resolved_outbox_dir(), name, s.outbox_max_bytes, s.outbox_fsync_interval
            )
            return Outbox(spool, marks)

        self.journal = CallJournal(sessions, dead_letters=dead_letters, outbox=outbox("journal"))
        self.reports = ReportWriter(sessions, dead_letters=dead_letters, outbox=outbox("reports"))
        self.agent_log = AgentLog(sessions, dead_letters=dead_letters, outbox=outbox("agent_log"))
        self.writers: tuple[BatchWriter[Any], ...] = (self.journal, self.reports, self.agent_log)
        for writer in self.writers:
            self.notifier.subscribe(writer)
        self.repository = JournalRepository(sessions)
        self.service_level = ServiceLevelRepository(sessions)
        self.report_repository = ReportRepository(sessions)
        self.kpi = KpiRepository(sessions)
        self.prediction = PredictionRepository(sessions)  # the predicted wait's inputs, quality
        self.handle_times = HandleTimes(
            self.prediction.handle_times,
            self.clock,
            window=settings.handle_time_window,
            refresh=settings.handle_time_refresh,
        )
        self.staffing = StaffingRepository(sessions)
        self.directory = StoreDirectory(sessions, settings.phone_country_code)
        self.desk = DeskStore(sessions, settings.phone_country_code)
        self.flow_history = FlowHistory(sessions)
        self.flow_reloader.recorders.append(self._record_flows)
        return sessions

    def _telephony(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        """One site per Asterisk server: its AMI session and what works on it. The lease
        and the step claims get their own connection and threads (a busy pool or a hung
        database delays no renewal and no other storage call)."""
        ttl = settings.lease_ttl
        self.lease_db = make_engine(
            settings.database_url,
            timeouts=DbTimeouts(connect=ttl, statement=ttl, lock=ttl, pool=ttl),
        )
        servers = settings.asterisk_servers()
        state = self.database.state
        self.lease_gate = StorageGate("lease", len(servers), ttl, state)
        self.claims_gate = StorageGate("claims", CLAIM_WORKERS, ttl, state)
        self.callback_store = CallbackStore(sessions)
        services = SiteServices(
            settings=settings,
            notifier=self.notifier,
            tasks=self.tasks,
            clock=self.clock,
            queues=lambda: self.queues,
            prompt_sound=self._prompt_sound,
            calendar=lambda: self.flows.calendar,
            journal_put=self.journal.put,
            sessions=sessions,
            callback_store=self.callback_store,
            lease_sessions=make_session_factory(self.lease_db),
            lease_gate=self.lease_gate,
            claims_gate=self.claims_gate,
            # agents' rows are not per Asterisk: closed at a takeover only with one
            close_agent_log=self.agent_log.close_open if len(servers) == 1 else None,
            mean_talk=self.handle_times.mean,
        )
        self.sites = [AsteriskSite(server, services) for server in servers]
        self.site = self.sites[0]  # the API's agents and supervision act through it
        self.supervision_log = SupervisionLog(sessions)
        # Suspected mass outages: counted by the owner of the first Asterisk only.
        self.outage_alerts = OutageAlertStore(sessions)
        self.outage_watch = OutageWatch(
            self.outage_alerts,
            lambda: self.queues.outage_alerts,
            lambda: self.flows,
            self.notifier.publish,
            self.clock,
            self.acting,
            run=self.database.api.run,
        )

    # The first Asterisk's parts, by their old names (tests, the API's agents/supervision).
    @property
    def ami(self) -> AmiClient:
        return self.site.ami

    @property
    def queue_actions(self) -> QueueActions:
        return self.site.queue_actions

    @property
    def agents(self) -> AgentBoard:
        return self.site.agents

    @property
    def waiting(self) -> WaitingMonitor:
        return self.site.waiting

    @property
    def talk(self) -> TalkMonitor:
        return self.site.talk

    @property
    def supervision(self) -> Supervision:
        return self.site.supervision

    @property
    def ownership(self) -> Ownership:
        return self.site.ownership

    def _live_state(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        """The live floor shared through the database: the owner of each Asterisk
        publishes what its monitors see, the other engines read it; the board shows, per
        Asterisk, the one that applies."""
        self.live_gate = StorageGate("live", 2, settings.lease_ttl, self.database.state)
        store = LiveStateStore(sessions)
        self.live_publishers = [
            LivePublisher(
                store,
                site.name,
                site.ownership.engine,
                functools.partial(self._floor, site),
                site.acting,
                run=self.live_gate.run,
            )
            for site in self.sites
        ]
        self.live_reader = LiveReader(
            store,
            floor_from_json,
            self.clock,
            run=self.live_gate.run,
            needed=lambda: not all(site.acting() for site in self.sites),
        )
        self.live_sources = LiveSources(
            [
                LocalFloor(
                    site.name,
                    site.ownership.engine,
                    site.acting,
                    waiting=site.waiting.callers,
                    talking=site.talk.calls,
                    agents=site.agents.snapshots,
                )
                for site in self.sites
            ],
            shared=self.live_reader,
        )

    def _floor(self, site: AsteriskSite) -> dict[str, Any]:
        """What a site's monitors see now, as the shared row's JSON."""
        return floor_json(
            self.clock.now(), site.waiting.callers(), site.talk.calls(), site.agents.snapshots()
        )

    def live_health(self) -> dict[str, Any]:
        """/health's live_state: each Asterisk's live data (source, owner, age) and the
        last publish or read error."""
        return {
            "asterisks": self.live_sources.status(),
            "published": sum(p.published for p in self.live_publishers),
            "publish_error": next(
                (p.last_error for p in self.live_publishers if p.last_error), None
            ),
            "read_error": self.live_reader.last_error,
        }

    def acting(self) -> bool:
        """This engine owns the (first) Asterisk's live actions now (else it stands by)."""
        return self.site.acting()

    @property
    def queues(self) -> QueuesConfig:
        """The queues configuration in force (replaced whole on reload)."""
        return self.queues_reloader.config

    def _validate_flows(self, queues: QueuesConfig, directory: Path | None = None) -> Validation:
        """flows/ (or `directory`, a version staged for a rollback) against queues.yaml: its
        routes' queues and classes; a warning when the calendar lacks the schedule its
        callbacks keep to (callbacks.hours)."""
        where = directory or self.settings.flows_dir
        found = validate_library(where, queues.queues, queues.caller_classes)
        if found.library is None:
            return found
        hours = unknown_hours(
            found.library.calendar, queues.callbacks.hours, self.settings.queues_file
        )
        return Validation(found.library, [*found.problems, *hours]) if hours else found

    def _flow_problems(self, queues: QueuesConfig) -> list[Problem]:
        """The flows' errors against a new queues.yaml (a removed queue breaks a route)."""
        return [p for p in self._validate_flows(queues).problems if not p.warning]

    async def _apply_queues(self, queues: QueuesConfig) -> None:
        """Render queues.conf where Asterisk reads it and have app_queue reload it."""
        if not self.settings.asterisk_config_dir:
            return
        await asyncio.to_thread(write_queues_conf, queues, self.settings.asterisk_config_dir)
        for site in self.sites:
            await site.reload_queues()

    async def _prompt_sound(
        self, name: str, language: str, values: Mapping[str, str]
    ) -> str | None:
        """A flows/prompts.yaml prompt as a sound Asterisk can play (None: no such prompt)."""
        catalog = self.flows.prompts
        prompt = catalog.prompts.get(name)
        if prompt is None:
            log.warning("prompt %r is not in prompts.yaml", name)
            return None
        wanted = language or catalog.default_language
        lang, variant = prompt.pick(wanted, catalog.default_language)
        if lang != wanted and ANY_LANGUAGE not in prompt.variants:
            log.warning("prompt %r has no %r version: the %r one is played", name, wanted, lang)
        if isinstance(variant, Text):
            return await self.speech.sound_for(fill(variant.text, values), lang)
        return variant.name

    async def _record_flows(self, accepted: Accepted) -> None:
        """An accepted flows/ version into the flow history (not when unchanged)."""
        history, at = self.flow_history, self.clock.wall()
        version = await self.database.api.run(history.record, accepted.files, accepted.who, at)
        if version is not None:
            log.info("flows: version %d (%s: %s)", version.id, version.who, version.changed)

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
            # the sweep's AGI reads the AstDB of whichever Asterisk calls it
            names.ROUTE_FALLBACK_SWEEP: self.site.fallback_sweep,
        }

    async def start(self) -> None:
        s = self.settings
        await asyncio.to_thread(migrate, s.database_url)
        await self.flow_reloader.record_current()  # the flows this engine starts with
        for site in self.sites:  # SQLite serves one engine: a second is refused here
            await site.own_or_refuse(only_engine=self.db.dialect.name == "sqlite")
        self.tasks.spawn(self.journal.run(), name="journal")
        self.tasks.spawn(self.reports.run(), name="reports")
        self.tasks.spawn(self.agent_log.run(), name="agent-log")
        self.tasks.spawn(self.live.run(), name="live-board")
        for publisher in self.live_publishers:
            self.tasks.spawn(publisher.run(), name=f"live-publisher-{publisher.asterisk}")
        self.tasks.spawn(self.live_reader.run(), name="live-reader")
        self.tasks.spawn(self.flow_reloader.watch(), name="flows-watch")
        self.tasks.spawn(self.queues_reloader.watch(), name="queues-watch")
        self.tasks.spawn(self.database.probe.run(), name="database-probe")
        self.tasks.spawn(self.recordings.run(), name="recordings-retention")
        self.tasks.spawn(self.handle_times.run(), name="handle-times")
        self.tasks.spawn(self.outage_watch.run(), name="outage-watch")
        if s.asterisk_config_dir:
            await asyncio.to_thread(write_queues_conf, self.queues, s.asterisk_config_dir)
        for site in self.sites:
            site.start()
        budget = take_budget(s.fd_reserve, GuardedSite.BACKLOG)
        self._fit_http_to(budget)
        self.agi = FastAgiServer(self.routes(), command_timeout=s.agi_command_timeout)
        self._servers.append(await self.agi.start(s.agi_host, s.agi_port))
        await self.start_http(s.http_host, s.http_port)
        log.info(
            "engine up: FastAGI %s:%s, HTTP %s:%s, AMI %s:%s",
            s.agi_host,
            s.agi_port,
            s.http_host,
            s.http_port,
            s.ami_host,
            s.ami_port,
        )
        if self.watchdog.enabled:
            self.tasks.spawn(self.watchdog.keepalive(), name="watchdog")
            self.watchdog.ready("serving")

    async def start_http(self, host: str, port: int) -> GuardedSite:
        """Serve the web app on host:port under self.http_limits."""
        limits = self.http_limits
        self._http = web.AppRunner(
            self.web_app(self.tokens),
            access_log=None,
            keepalive_timeout=limits.keepalive_timeout,
            lingering_time=LINGERING_TIME,
        )
        await self._http.setup()
        self.http_guard = ConnectionGuard(limits.max_connections, limits.header_timeout)
        site = GuardedSite(self._http, host, port, self.http_guard)
        await site.start()
        return site

    async def stop_http(self) -> None:
        if self._http:
            await self._http.cleanup()
            self._http = None

    def _fit_http_to(self, budget: FdBudget) -> None:
        """Lower the HTTP caps to what the file-descriptor budget leaves; log the budget."""
        self.http_limits = self.http_limits.within(budget.http)
        self.streams.limit = self.http_limits.max_streams
        log.info(
            "file descriptors: limit %d, %d in use, %d kept for FastAGI/AMI/database/prompts, "
            "%d for HTTP's listen backlog; HTTP gets %d connections, %d of them live streams",
            budget.limit,
            budget.in_use,
            budget.reserve,
            budget.http_backlog,
            self.http_limits.max_connections,
            self.http_limits.max_streams,
        )
        if budget.starved:
            log.warning(
                "the open-files limit (%d) is too small for the reserve (%d): raise `ulimit -n` "
                "or lower IVR_FD_RESERVE",
                budget.limit,
                budget.reserve,
            )

    def web_app(self, tokens: TokenBook) -> web.Application:
        """The HTTP app (every route module), given what its handlers work with."""
        app = make_web_app(limits=self.http_limits)
        app[keys.HEALTH] = self.health
        app[keys.JOURNAL] = self.repository
        app[keys.RECORDED] = self.recordings.recorded
        app[keys.RECORDINGS] = self.recordings
        app[keys.METRICS] = metrics_registry(
            self.live.snapshot, self.storage_stats, [DatabaseCollector(self.database.state.status)]
        )
        app[keys.TOKENS] = tokens
        app[keys.STORAGE] = self.database.api
        app[keys.DIRECTORY] = self.directory
        app[keys.REPORTS] = self.report_repository
        app[keys.DESK] = self.desk
        app[keys.PUBLISH] = self.notifier.publish
        app[keys.FLOWS] = self.flow_reloader
        app[keys.FLOW_HISTORY] = self.flow_history
        app[keys.VALIDATE_FLOWS] = lambda: self._validate_flows(self.queues)
        app[keys.NOW] = self.clock.wall
        app[keys.QUEUES] = lambda: self.queues
        app[keys.SUBSCRIBER_CHANGED] = self.screen_pop.subscriber_changed
        app[keys.SUPERVISION] = self.supervision
        app[keys.SUPERVISION_LOG] = self.supervision_log
        app[keys.OUTAGE_ALERTS] = self.outage_alerts
        app[keys.AGENTS] = self.agents
        app[keys.LIVE_QUEUES] = self.live.queues_view
        app[keys.LIVE_AGENTS] = self.live.agent_views
        app[keys.SERVICE_LEVEL] = self.service_level
        app[keys.PREDICTION] = self.prediction
        app[keys.STAFFING] = self.staffing
        app[keys.BOARD] = self.live
        app[keys.SCREEN_POP] = self.screen_pop
        app[keys.STREAMS] = self.streams
        return app

    def storage_stats(self) -> Mapping[str, WriterStats]:
        """Each storage writer's backlog and dead letters, by writer name."""
        return {writer.name: writer.stats() for writer in self.writers}

    def health(self) -> Mapping[str, Any]:
        return {
            "ok": self.agi is not None,
            **self.site.health(),  # the first Asterisk's (ami_connected, owner, lease_holder)
            "asterisks": {site.name: site.health() for site in self.sites},
            "live_state": self.live_health(),
            "agi_active": self.agi.active if self.agi else 0,
            "journal_pending": self.journal.pending,
            "database": self.database.health(),
            "storage": {name: asdict(stats) for name, stats in self.storage_stats().items()},
            "http_connections": self.http_guard.active if self.http_guard else 0,
            "http_refused": self.http_guard.refused if self.http_guard else 0,
            "http_streams": self.streams.active,
        }

    async def stop(self) -> None:
        self.watchdog.stopping()
        if self.agi:
            await self.agi.close()
        await self.stop_http()
        await self.journal.stop()
        await self.reports.stop()
        await self.agent_log.stop()
        if len(self.sites) == 1 and self.acting():  # no one sees the agents: time stops now
            await asyncio.to_thread(self.agent_log.close_open, self.clock.wall())
        for site in self.sites:  # a standby takes over at once
            await site.stop()
        await self.tasks.cancel_all()
        self.watchdog.close()
        self.database.close()
        self.lease_gate.close()
        self.claims_gate.close()
        self.live_gate.close()
        self.db.dispose()
        self.lease_db.dispose()

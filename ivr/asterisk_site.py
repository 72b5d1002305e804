"""One Asterisk as the engine works with it: its AMI session, and what works on it (agents,
waiting and talking callers, supervision, callbacks, the fallback sweep), acting only while
this engine owns the Asterisk's lease (ivr.ha.ownership). Built and wired by ivr.app, one per
Asterisk server in the settings."""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.clock import LoopClock
from ivr.config import AsteriskServer, ConfigError, Settings
from ivr.events.model import CallFellBack, CallStarted, Event
from ivr.events.notifier import Notifier
from ivr.flow.calendar import Calendar
from ivr.ha.claims import SharedClaims
from ivr.ha.ownership import Ownership
from ivr.monitors.agents import AgentBoard
from ivr.monitors.callbacks import CallbackDialer
from ivr.monitors.predict import WaitPredictor
from ivr.monitors.resync import Resync
from ivr.monitors.supervise import Supervision
from ivr.monitors.talk import TalkMonitor
from ivr.monitors.waiting import PromptSound, WaitingMonitor
from ivr.queues.model import QueuesConfig
from ivr.storage.callbacks import CallbackStore
from ivr.storage.gate import StorageGate
from ivr.storage.ownership import CLAIMS_KEPT, ClaimStore, LeaseStore
from ivr.tasks import TaskSet
from ivr.telephony.ami import AmiClient
from ivr.telephony.ami_announcer import AmiAnnouncer
from ivr.telephony.ami_events import AmiEvents
from ivr.telephony.ami_translator import AmiEventTranslator
from ivr.telephony.fallback_trace import FallbackSweep
from ivr.telephony.queue_actions import QueueActions
from ivr.telephony.queue_log import QueueLogWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteServices:
    """What every Asterisk site shares with the engine."""

    settings: Settings
    notifier: Notifier
    tasks: TaskSet
    clock: LoopClock
    queues: Callable[[], QueuesConfig]
    prompt_sound: PromptSound
    calendar: Callable[[], Calendar]  # flows/calendar.yaml (callbacks.hours)
    journal_put: Callable[[CallStarted | CallFellBack], bool]
    sessions: sessionmaker[Session]
    callback_store: CallbackStore  # the callback work queue, shared by every site
    lease_sessions: sessionmaker[Session]
    lease_gate: StorageGate
    claims_gate: StorageGate
    # what the last owner saw of the agents is not current any more (one Asterisk only)
    close_agent_log: Callable[[datetime], int] | None
    mean_talk: Callable[[str], float | None] = lambda queue: None  # per queue (HandleTimes)


class AsteriskSite:
    def __init__(self, server: AsteriskServer, services: SiteServices) -> None:
        s, settings = services, services.settings
        self.name = server.name
        self._services = s
        self.ami = AmiClient(
            server.ami_host,
            server.ami_port,
            settings.ami_user,
            settings.resolved_ami_secret(server.name),
        )
        self.queue_actions = QueueActions(self.ami)
        self._ownership(server, s)
        # Calls the dialplan's fallback served (engine down): journalled from AstDB.
        self.fallback_sweep = FallbackSweep(
            s.journal_put,
            lambda channel: self.ami.originate(channel, application="NoOp"),
            s.tasks,
        )
        s.notifier.subscribe(AmiAnnouncer(self.queue_actions.user_event, s.tasks))
        # The owner's own events also go to this Asterisk's queue_log (QueueLog).
        self.queue_log = QueueLogWriter(self.queue_actions.queue_log, s.tasks, server.name)
        self._monitors(s)
        self.ownership.gained.append(self._take_over)
        self.ownership.lost.append(self._stand_by)
        self.ami_events = self._ami_events()

    def _ownership(self, server: AsteriskServer, s: SiteServices) -> None:
        """The lease on this Asterisk's live actions, and the claims of live steps."""
        engine_id = s.settings.resolved_engine_id()
        self.ownership = Ownership(
            LeaseStore(s.lease_sessions),
            server.name,
            engine_id,
            s.clock,
            s.tasks,
            ttl=s.settings.lease_ttl,
            renew=s.settings.lease_renew,
            run=s.lease_gate.run,
            # SQLite: this is the only engine (a second is refused); a write lock held by
            # the journal must not stop its live actions
            fenced=not s.settings.database_url.startswith("sqlite"),
        )
        self.claim_store = ClaimStore(s.sessions, server.name, engine_id)
        self.claims = SharedClaims(
            self.claim_store, s.clock.wall, timeout=s.settings.lease_ttl, run=s.claims_gate.run
        )

    def _publish(self, event: Event) -> None:
        """What this Asterisk's monitors tell: to everyone, and to its queue_log."""
        self._services.notifier.publish(event)
        self.queue_log(event)

    def _monitors(self, s: SiteServices) -> None:
        publish, clock = self._publish, s.clock
        self.agents = AgentBoard(s.queues, self.queue_actions, publish, clock)
        predictor = WaitPredictor(self.agents.staffing, s.mean_talk)
        self.waiting = WaitingMonitor(
            s.queues,
            self.queue_actions,
            s.prompt_sound,
            publish,
            s.tasks,
            clock,
            claims=self.claims,
            acting=self.acting,
            predictor=predictor,
            calendar=s.calendar,
        )
        self.talk = TalkMonitor(
            s.queues,
            self.queue_actions,
            publish,
            s.tasks,
            clock,
            claims=self.claims,
            acting=self.acting,
        )
        self.resync = Resync(
            self.queue_actions, self.waiting, self.talk, s.queues, lambda: clock.wall().timestamp()
        )
        # Supervisors listen, whisper or barge into live calls from their phones (API).
        self.supervision = Supervision(
            self.talk.talking,
            lambda: {waiter.call_id for waiter in self.waiting.waiters()},
            self.queue_actions,
            publish,
            clock.wall,
            standby=self._standby_note,
        )
        self.callbacks = CallbackDialer(
            s.queues,
            s.callback_store,
            self.ami,
            self.waiting.waiting,
            self.agents.has_agent_on_duty,
            publish,
            s.tasks,
            clock,
            acting=self.acting,
            prompt_sound=s.prompt_sound,
            calendar=s.calendar,
            dialled=self.queue_log.dialled,
        )

    def _ami_events(self) -> AmiEvents:
        """Asterisk's AMI events, each parsed once, to whoever declared it reads them; in
        this order, so what they publish for one event comes in this order."""
        events = AmiEvents()
        # This engine's menus' calls may be on any Asterisk it works with: with one, they
        # are this one's; with several, the dialplan's events say whose they are.
        alone = len(self._services.settings.asterisk_servers()) == 1
        self.translator = AmiEventTranslator(
            self._services.notifier, self._services.clock, lambda: alone and self.acting()
        )
        translator = self.translator
        for subscriber in (
            translator,
            self.waiting,
            self.talk,
            self.agents,
            self.callbacks,
            self.fallback_sweep,
            self.queue_log,
        ):
            events.subscribe(subscriber.AMI_EVENTS, subscriber.on_ami)
        return events

    def acting(self) -> bool:
        """This engine owns the Asterisk's live actions now (else it stands by)."""
        return self.ownership.acting

    def _standby_note(self) -> str | None:
        """Why this engine cannot act on a live call of this Asterisk, if it cannot."""
        if self.acting():
            return None
        owner = self.ownership.holder or "none yet"
        return (
            f"this engine stands by for Asterisk {self.name}: ask the engine that owns its "
            f"live calls ({owner}, see /health lease_holder)"
        )

    # --- running ----------------------------------------------------------------------

    async def own_or_refuse(self, only_engine: bool) -> None:
        """Take the lease, or stand by. With `only_engine` (SQLite) a lease held by another
        engine refuses this one (after a lease time: an engine restarted after a crash gets
        its lease back)."""
        own = self.ownership
        await own.renew_once()
        if not only_engine:
            return
        for _ in range(round(own.ttl / own.renew) + 2):
            if own.acting:
                return
            await asyncio.sleep(own.renew)
            await own.renew_once()
        if not own.acting:
            raise ConfigError(
                f"the database is SQLite, which serves one engine, and engine {own.holder!r} "
                f"uses it: run several engines on PostgreSQL (IVR_DATABASE_URL=postgresql://...)"
            )

    def start(self) -> None:
        """Listen to this Asterisk's AMI (events reach the monitors on the owner only) and
        connect; renew the lease; dial callbacks while owning."""
        tasks = self._services.tasks
        for name in self.ami_events.names():  # each event parsed once, then dispatched
            self.ami.on_event(name, self._owned_event)
        self.ami.on_event("FullyBooted", self._ami_ready)
        tasks.spawn(self.ownership.run(), name=f"ownership-{self.name}")
        tasks.spawn(self.callbacks.run(), name=f"callbacks-{self.name}")
        # AGI calls are served even while AMI is unreachable; the client keeps retrying.
        tasks.spawn(self.ami.connect(wait=None), name=f"ami-connect-{self.name}")

    def _owned_event(self, message: Mapping[str, str]) -> None:
        """AMI events drive the live actions and their journal on the owner only (a
        standby's would repeat them)."""
        if self.acting():
            self.ami_events(message)

    def _ami_ready(self, _: Mapping[str, str]) -> None:
        """(Re)connected: apply queues.conf; the owner learns who is logged in, who waits
        and talks."""
        if self._services.settings.asterisk_config_dir:
            self._services.tasks.spawn(self.queue_actions.reload(), name="queues-reload")
        if self.acting():
            self._services.tasks.spawn(self._resync(), name=f"resync-{self.name}")

    async def _resync(self) -> None:
        """Who is logged in, who waits and talks now; the fallback calls to journal."""
        self.fallback_sweep.request()
        await self.agents.sync()
        await self.resync.run()

    async def _take_over(self) -> None:
        """This engine owns the live actions now: what another engine (or this one before
        a restart) left is taken up from Asterisk and the database. The bookkeeping may
        fail (the database is slow): the resync runs anyway."""
        s = self._services
        try:
            if s.close_agent_log is not None:  # before the agents' sync opens new rows
                await asyncio.to_thread(s.close_agent_log, s.clock.wall())
        except Exception as exc:
            log.warning("%s: agents' open rows not closed at the takeover: %s", self.name, exc)
        if self.ami.connected:  # else at FullyBooted
            await self._resync()
        try:
            await s.claims_gate.run(self.claim_store.purge, s.clock.wall() - CLAIMS_KEPT)
        except Exception as exc:
            log.warning("%s: old step claims not purged: %s", self.name, exc)

    def _stand_by(self) -> None:
        """Another engine owns the live actions (or the lease ran out): stop acting."""
        self.waiting.reset()
        self.talk.reset()
        self.translator.reset()

    async def reload_queues(self) -> None:
        if self.ami.connected:
            await self.queue_actions.reload()

    async def stop(self) -> None:
        """Stop acting, free the lease (a standby takes over at once), close AMI."""
        await self.ownership.release()
        self.waiting.close()
        self.talk.close()
        await self.ami.close()

    def health(self) -> dict[str, Any]:
        return {
            "ami_connected": self.ami.connected,
            "owner": self.acting(),  # of the Asterisk's live actions; else standing by
            "lease_holder": self.ownership.holder,
        }

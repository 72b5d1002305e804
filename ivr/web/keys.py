"""What the web app works with, stored in the aiohttp app under these keys (set by the
wiring point, ivr/app.py; read by handlers as request.app[KEY])."""

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from ivr.events.model import Event
from ivr.flow.loader import Validation
from ivr.flow.reload import FlowReloader
from ivr.monitors.agents import AgentBoard
from ivr.monitors.supervise import Supervision
from ivr.queues.model import QueuesConfig
from ivr.storage.desk import DeskStore
from ivr.storage.directory import StoreDirectory
from ivr.storage.flow_history import FlowHistory
from ivr.storage.gate import StorageGate
from ivr.storage.outage_alerts import OutageAlertStore
from ivr.storage.prediction import PredictionRepository
from ivr.storage.recordings import Recordings
from ivr.storage.reports import ReportRepository
from ivr.storage.repository import JournalRepository
from ivr.storage.service_level import ServiceLevelRepository
from ivr.storage.staffing import StaffingRepository
from ivr.storage.supervision import SupervisionLog
from ivr.web.limits import StreamSlots
from ivr.web.live.board import LiveBoard
from ivr.web.route import Handler, Roles
from ivr.web.screen_pop import ScreenPop
from ivr.web.tokens import Principal, TokenBook

# --- set by ivr.web.app.make_web_app ---------------------------------------------------
ACCESS = web.AppKey("access", Mapping[Handler, Roles])  # each handler's roles (route tables)
CLOSING = web.AppKey("closing", asyncio.Event)  # set when the server stops: streams end
PRINCIPAL = web.RequestKey("principal", Principal)  # who the caller is (ivr.web.auth)

# --- the engine's health, the call journal, the metrics ----------------------------------
HEALTH: web.AppKey[Callable[[], Mapping[str, Any]]] = web.AppKey("health")
JOURNAL = web.AppKey("journal", JournalRepository)
# which of these calls have a recording
RECORDED: web.AppKey[Callable[[Iterable[str]], set[str]]] = web.AppKey("recorded")
RECORDINGS = web.AppKey("recordings", Recordings)
METRICS = web.AppKey("metrics", CollectorRegistry)  # what GET /metrics serves (ivr.web.metrics)

# --- the REST API -----------------------------------------------------------------------
TOKENS = web.AppKey("tokens", TokenBook)  # who each API token is (ivr.web.tokens)
STORAGE = web.AppKey("storage", StorageGate)  # where the API's blocking store calls run
DIRECTORY = web.AppKey("directory", StoreDirectory)
REPORTS = web.AppKey("reports", ReportRepository)
DESK = web.AppKey("desk", DeskStore)
PUBLISH: web.AppKey[Callable[[Event], None]] = web.AppKey("publish")  # the engine's notifier
FLOWS = web.AppKey("flows", FlowReloader)  # .library (lines), await .reload()
FLOW_HISTORY = web.AppKey("flow_history", FlowHistory)  # accepted flows/ versions
VALIDATE_FLOWS: web.AppKey[Callable[[], Validation]] = web.AppKey("validate_flows")  # blocking
NOW: web.AppKey[Callable[[], datetime]] = web.AppKey("now")  # aware, UTC
# the queues configuration in force
QUEUES: web.AppKey[Callable[[], QueuesConfig]] = web.AppKey("queues")
# An account was edited (phones reconciled): the screen pops showing it read it again.
SUBSCRIBER_CHANGED: web.AppKey[Callable[[int], None]] = web.AppKey("subscriber_changed")
SUPERVISION = web.AppKey("supervision", Supervision)  # supervisors on live calls
SUPERVISION_LOG = web.AppKey("supervision_log", SupervisionLog)
OUTAGE_ALERTS = web.AppKey("outage_alerts", OutageAlertStore)  # suspected mass outages

# --- queues, agents and the live views --------------------------------------------------
AGENTS = web.AppKey("agents", AgentBoard)
# what GET /api/queues shows: each queue now (ivr.web.live.board.LiveBoard.queues_view)
LIVE_QUEUES: web.AppKey[Callable[[], Mapping[str, Any]]] = web.AppKey("live_queues")
# what GET /api/agents lists: every agent now (ivr.web.live.board.LiveBoard.agent_views)
LIVE_AGENTS: web.AppKey[Callable[[], list[dict[str, object]]]] = web.AppKey("live_agents")
SERVICE_LEVEL = web.AppKey("service_level", ServiceLevelRepository)
PREDICTION = web.AppKey("prediction", PredictionRepository)  # predicted vs real waits
STAFFING = web.AppKey("staffing", StaffingRepository)  # GET /api/staffing
BOARD = web.AppKey("board", LiveBoard)  # the dashboard and the agent view
SCREEN_POP = web.AppKey("screen_pop", ScreenPop)
STREAMS = web.AppKey("streams", StreamSlots)  # the cap on live streams

"""agi_scripts/meter_reading.py: meter readings 24/7 with the engine down.

It runs the engine's own `meter` flow (flows/meter.yaml) with the engine's step types,
so the caller hears the same prompts and his keys are checked by the same validators
(the flow's collect steps); the call port is the classic AGI session, the directory and
the reading's row are the engine's database, read and written directly. The reading is
stored when the flow records it, before the caller hears that it was accepted; a reading
the database does not take ends the script without a verdict, and the dialplan queues
the caller for an operator.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from ivr.config import Settings
from ivr.events.model import Event
from ivr.flow.context import CallInfo, FlowServices, Speech
from ivr.flow.runner import new_context, run_flow
from ivr.offline.agi import ClassicAgi
from ivr.offline.fallback import METER_FLOW
from ivr.offline.runtime import ScriptConfig, database
from ivr.speech.espeak import SpeechRenderer
from ivr.storage.directory import SessionFactory, StoreDirectory
from ivr.storage.reports import ReportEvent, write_reports
from ivr.telephony import names
from ivr.telephony.call_port import AgiCallPort

log = logging.getLogger(__name__)


class CachedSpeech:
    """The engine's rendered prompts (its cache, as Asterisk sees it); a text not cached
    yet (one with the caller's reading in it) is rendered here, as the engine would."""

    def __init__(self, renderer: SpeechRenderer) -> None:
        self._renderer = renderer

    async def sound_for(self, text: str, language: str) -> str:
        return self._renderer.render(text, language)


def recorder(sessions: SessionFactory) -> Callable[[Event], None]:
    """Writes the flow's reports at once (blocking: the caller waits for the row)."""

    def record(event: Event) -> None:
        if isinstance(event, ReportEvent):
            write_reports(sessions, [event])

    return record


def call_of(agi: ClassicAgi, config: ScriptConfig) -> CallInfo:
    number = agi.args[0] if agi.args else agi.env.get("agi_extension", "")
    return CallInfo(
        call_id=agi.env.get("agi_uniqueid", ""),
        number=number,
        caller=agi.env.get("agi_callerid", ""),
        line=config.library.lines.get(number),
    )


def cached_speech(settings: Settings) -> CachedSpeech:
    cache = settings.resolved_prompt_cache_dir()
    return CachedSpeech(SpeechRenderer(cache, settings.prompt_sound_prefix))


async def serve(agi: ClassicAgi, config: ScriptConfig, speech: Speech | None = None) -> bool:
    """Run the meter flow for the call; True once it ended the call itself (the dialplan
    hangs up), False when it routed the caller (he goes to the fallback queue)."""
    settings = config.settings
    speech = speech or cached_speech(settings)
    with database(settings) as sessions:
        services = FlowServices(
            directory=StoreDirectory(sessions, settings.phone_country_code),
            speech=speech,
            record=recorder(sessions),
            now=lambda: datetime.now(UTC),
        )
        ctx = new_context(config.library, call_of(agi, config), AgiCallPort(agi), services)
        ctx.flow = METER_FLOW
        await agi.answer()
        outcome = await run_flow(ctx)
    log.info("meter reading: %s", ">".join(outcome.path))
    if outcome.route is not None:
        return False
    await agi.set_variable(names.VAR_OFFLINE_STATUS, names.STATUS_DONE)
    return True

"""Mass-outage alerts in the engine: every `check_interval` the acting owner counts the
journal's calls of the last window per (city, line, first menu choice) against the usual
level for that hour of the week (the journal's last weeks, re-read every hour), and the
detector (ivr.outages.detector) says which spikes begin and end. A beginning spike is an
alert row, OutageSuspected (the IvrOutageSuspected UserEvent, the dashboard's banner);
an ending one OutageSubsided.

The journal is shared by every engine (menus run on any of them): only the engine that
owns the (first) Asterisk counts, so one alert is raised per spike. The spikes still on are
re-read from the alerts table when it starts acting (a restart or a takeover alerts no
spike twice)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from ivr.clock import Clock, sleep_on
from ivr.events.model import Event, OutageSubsided, OutageSuspected
from ivr.flow.model import FlowLibrary
from ivr.flow.prompts import Text, fill
from ivr.outages.detector import (
    Seen,
    Spike,
    SpikeDetector,
    SpikeKey,
    Subsided,
    first_choice,
    hour_spans,
    usual_levels,
)
from ivr.queues.model import OutageAlertPolicy
from ivr.storage.models import OutageAlertRecord
from ivr.storage.outage_alerts import JournalCall, OutageAlertStore

log = logging.getLogger(__name__)
Run = Callable[..., Awaitable[Any]]
CLOCK_SLACK = timedelta(seconds=60)  # calls stamped ahead by another engine's clock count
FALLBACK_MESSAGE = "many calls from {city} on line {line} ({choice})"


def spike_key(call: JournalCall, library: FlowLibrary) -> SpikeKey:
    """A journalled call's key: the subscriber's city, else the line's; the first choice of
    a menu node in the line's flow."""
    line = library.lines.get(call.line)
    flow = library.flows.get(line.flow if line else library.default_flow)
    menus = [n.id for n in flow.nodes.values() if n.type == "menu"] if flow else []
    choice = first_choice(call.menu_path.split(">"), menus)
    return SpikeKey(call.city or (line.city if line else ""), call.line, choice)


def prefilled(key: SpikeKey, library: FlowLibrary, prompt_name: str) -> tuple[str, str]:
    """The outage message to propose and its language: prompts.yaml's `prompt_name` in the
    line's language (the default language when the line has none)."""
    catalog = library.prompts
    line = library.lines.get(key.line)
    wanted = (line.language if line else "") or catalog.default_language
    values = {"city": key.city, "line": key.line, "choice": key.choice}
    prompt = catalog.prompts.get(prompt_name)
    if prompt is not None:
        language, variant = prompt.pick(wanted, catalog.default_language)
        if isinstance(variant, Text):
            return fill(variant.text, values), language
    log.warning("outage alerts: no text prompt %r in prompts.yaml", prompt_name)
    return fill(FALLBACK_MESSAGE, values), wanted


class OutageWatch:
    def __init__(
        self,
        store: OutageAlertStore,
        policy: Callable[[], OutageAlertPolicy],
        flows: Callable[[], FlowLibrary],
        publish: Callable[[Event], None],
        clock: Clock,
        acting: Callable[[], bool],
        run: Run = asyncio.to_thread,
    ) -> None:
        self._store, self._policy, self._flows = store, policy, flows
        self._publish, self._clock, self._acting, self._run = publish, clock, acting, run
        self.detector = SpikeDetector()
        self._restored = False  # the detector knows the spikes of the alerts table
        self._usual: dict[SpikeKey, float] = {}
        self._usual_for: tuple[datetime, float] | None = None  # (hour, read at: clock.now())

    async def run(self) -> None:
        while True:
            policy = self._policy()
            try:
                if policy.enabled and self._acting():
                    await self.check(policy)
                else:
                    self._restored = False  # another engine may raise and clear meanwhile
            except Exception:
                self._restored = False  # what was not stored is found again next time
                log.exception("outage alerts: the check failed")
            await sleep_on(self._clock, policy.check_interval)

    async def check(self, policy: OutageAlertPolicy) -> None:
        """One pass: count, compare, store and announce what began or ended."""
        if not self._restored:
            keys = await self._run(self._store.in_spike)
            self.detector.restore(SpikeKey(*key) for key in keys)
            self._restored = True
        now, library = self._clock.wall(), self._flows()
        await self._refresh_usual(now, library, policy)
        since = now - timedelta(seconds=policy.window)
        calls = await self._run(self._store.calls_between, since, now + CLOCK_SLACK)
        seen = [(spike_key(c, library), c.started_at) for c in calls]
        for change in self.detector.check(now, seen, self._usual, policy):
            if isinstance(change, Spike):
                await self._raise(change, now, library, policy)
            else:
                await self._subside(change, now)

    async def _refresh_usual(
        self, now: datetime, library: FlowLibrary, policy: OutageAlertPolicy
    ) -> None:
        """Re-read the usual levels at a new hour of the week or after baseline_refresh."""
        local = library.calendar.local(now)
        hour = local.replace(minute=0, second=0, microsecond=0)
        last = self._usual_for
        if last and last[0] == hour and self._clock.now() - last[1] < policy.baseline_refresh:
            return
        history: list[Seen] = []
        for start, end in hour_spans(local, policy.baseline_weeks):
            calls = await self._run(self._store.calls_between, start, end)
            history.extend((spike_key(c, library), c.started_at) for c in calls)
        self._usual = usual_levels(history, policy.baseline_weeks, policy.window)
        self._usual_for = (hour, self._clock.now())

    async def _raise(
        self, spike: Spike, now: datetime, library: FlowLibrary, policy: OutageAlertPolicy
    ) -> None:
        key = spike.key
        message, language = prefilled(key, library, policy.message_prompt)
        record = OutageAlertRecord(
            raised_at=now,
            city=key.city,
            line=key.line,
            choice=key.choice,
            calls=spike.count,
            usual=spike.usual,
            window=float(policy.window),
            message=message,
            language=language,
        )
        alert = await self._run(self._store.add, record)
        log.warning(
            "outage suspected: %d calls from %s on %s (%s) in %g s, usually %.1f: alert %d",
            spike.count,
            key.city or "?",
            key.line,
            key.choice or "no choice",
            policy.window,
            spike.usual,
            alert.id,
        )
        self._publish(
            OutageSuspected(
                alert.id,
                key.city,
                key.line,
                key.choice,
                spike.count,
                spike.usual,
                policy.window,
                message,
                at=now,
            )
        )

    async def _subside(self, change: Subsided, now: datetime) -> None:
        key = change.key
        await self._run(self._store.subside, key.city, key.line, key.choice, now)
        log.info("outage spike over: %s on %s (%s)", key.city, key.line, key.choice)
        self._publish(OutageSubsided(key.city, key.line, key.choice, change.count, at=now))

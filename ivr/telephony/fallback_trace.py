"""Calls the dialplan's fallback served, read back from Asterisk after the engine returns.

[ivr-fallback] (dialplans/ivr.conf) leaves a trace in AstDB for every call it takes,
family `ivr_fallback`, key the call's UNIQUEID, value
`<start>|<fallback at>|<line>|<caller, URI-encoded>|<queue>|<reason>` (Unix times; the line
FILTERed to dial digits, the caller URIENCODEd, queue and reason FILTERed). While the
engine is down nobody hears its IvrFallback UserEvent: this trace is what remains.

At every AMI (re)connect, and shortly after a live IvrFallback, the engine originates
Local/s@ivr-fallback-sweep, whose AGI (route `fallback-sweep`) comes back here: the sweep
lists the keys (DB_KEYS), reads each entry, hands CallStarted + CallFellBack to the journal
(its outbox has them on disk when `record` returns true) and only then deletes the entry.
No AMI privilege beyond originate is needed (AMI's DBGet/DBDel need `system`).
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import unquote

from ivr.events.model import CallFellBack, CallStarted
from ivr.tasks import TaskSet
from ivr.telephony import names
from ivr.telephony.agi import AgiChannel
from ivr.telephony.ami_events import AmiEvent, IvrFallback
from ivr.telephony.encoding import agi_quote

log = logging.getLogger(__name__)

FAMILY = "ivr_fallback"
SWEEP_CHANNEL = f"Local/s@{names.CONTEXT_FALLBACK_SWEEP}"
KEY = re.compile(r"[A-Za-z0-9._-]{1,150}")  # an Asterisk UNIQUEID (with systemname)
KEYS_CHARS = 8000  # the key list read per round (AGI reply lines stay short); more rounds
FIELDS = 6

TraceEvent = CallStarted | CallFellBack
Record = Callable[[TraceEvent], bool]  # the journal's put: true once the event is on disk


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def parse_entry(key: str, value: str) -> list[TraceEvent] | None:
    """The journal events of one AstDB entry (None: not an entry this dialplan writes)."""
    parts = value.split("|")
    if not KEY.fullmatch(key) or len(parts) != FIELDS:
        return None
    start, at, line, caller, queue, reason = parts
    fell_back_at = _time(at)
    if fell_back_at is None:
        return None
    caller = unquote(caller, errors="replace")
    events: list[TraceEvent] = []
    started_at = _time(start)
    if started_at is not None:
        events.append(CallStarted(key, line, caller, "", at=started_at))
    events.append(CallFellBack(key, line, caller, queue, reason, at=fell_back_at))
    return events


class FallbackSweep:
    """The `fallback-sweep` AGI route and what starts it (`request`)."""

    AMI_EVENTS: tuple[type[AmiEvent], ...] = (IvrFallback,)

    def __init__(
        self,
        record: Record,
        originate: Callable[[str], Awaitable[object]],
        tasks: TaskSet,
        delay: float = 2.0,
    ) -> None:
        self._record = record
        self._originate = originate
        self._tasks = tasks
        self._delay = delay
        self._requested = False
        self.recorded = 0  # calls journalled from AstDB since start

    def request(self) -> None:
        """Sweep soon (requests in the meantime are one sweep)."""
        if not self._requested:
            self._requested = True
            self._tasks.spawn(self._start(), name="fallback-sweep")

    def on_ami(self, event: AmiEvent) -> None:
        """A live IvrFallback: its trace is in AstDB too; sweep it up."""
        if isinstance(event, IvrFallback):
            self.request()

    async def _start(self) -> None:
        await asyncio.sleep(self._delay)
        self._requested = False
        await self._originate(SWEEP_CHANNEL)

    async def __call__(self, channel: AgiChannel) -> None:
        total = 0
        while True:
            listing = f'GET FULL VARIABLE "${{DB_KEYS({FAMILY}):0:{KEYS_CHARS}}}"'
            reply = await channel.command(listing)
            data = reply.data if reply.result == "1" else ""
            keys = [k for k in data.split(",") if k]
            cut = len(data) >= KEYS_CHARS
            if cut:
                keys = keys[:-1]  # perhaps cut short: the next round reads it whole
            done = 0
            for key in keys:
                done += await self._sweep_one(channel, key)
            total += done
            if done == 0 or not cut:
                break
        if total:
            log.info("fallback sweep: %d calls the fallback served are journalled", total)

    async def _sweep_one(self, channel: AgiChannel, key: str) -> int:
        if not KEY.fullmatch(key):
            log.warning("fallback sweep: AstDB %s key %r is not a call id: left", FAMILY, key)
            return 0
        reply = await channel.command(f"DATABASE GET {FAMILY} {agi_quote(key)}")
        if reply.result != "1":
            return 0  # deleted meanwhile
        events = parse_entry(key, reply.data)
        if events is None:
            log.warning("fallback sweep: AstDB %s/%s unreadable: %r", FAMILY, key, reply.data)
        elif not all([self._record(event) for event in events]):
            log.error("fallback sweep: the journal's outbox is full: %s/%s kept", FAMILY, key)
            return 0
        await channel.command(f"DATABASE DEL {FAMILY} {agi_quote(key)}")
        self.recorded += events is not None
        return 1

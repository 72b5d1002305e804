"""The engine's own events in Asterisk's queue_log (AMI action QueueLog), next to app_queue's
ENTERQUEUE, CONNECT, ABANDON..., so tools that read queue_log (QueueMetrics and the like)
see the menu path, the escalation steps and the callbacks of each call.

Lines (uniqueid = the caller's call; agent field NONE, as app_queue writes caller events):
    <time>|<uniqueid>|<queue>|NONE|IVRPATH|<menu path>|<line>|<caller class>|<priority>
    <time>|<uniqueid>|<queue>|NONE|ESCALATE|<step>|<detail>|<wait, s>
    <time>|<uniqueid>|<queue>|NONE|CALLBACK|REQUESTED|<promised by, UTC ISO>
    <time>|<uniqueid>|<queue>|NONE|CALLBACK|DIALLED|<attempt>
    <time>|<uniqueid>|<queue>|NONE|CALLBACK|ANSWERED|<attempt>
    <time>|<uniqueid>|<queue>|NONE|CALLBACK|FAILED|<attempt>|<no_answer, busy...>|retry|final

One writer per Asterisk, fed only by what the Asterisk's owner does (its monitors' events,
the IvrRoute events it reads, its dialer): a standby engine writes nothing, so HA never
doubles a line. Best effort, off the call path: lines go out one at a time, in order, from
a bounded queue; a failed QueueLog (AMI down, refused) is logged and dropped, never retried
and never waited on by a call. Values lose `|` (the field separator) and control characters.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ivr.events.model import CallbackAttempted, CallbackRequested, CallEscalated, Event
from ivr.tasks import TaskSet
from ivr.telephony.ami_events import AmiEvent, IvrRoute

log = logging.getLogger(__name__)

IVRPATH = "IVRPATH"
ESCALATE = "ESCALATE"
CALLBACK = "CALLBACK"
NONE = "NONE"  # app_queue's word for "no member" / "no call"
MAX_PENDING = 10_000  # lines waiting for AMI; more are dropped (and counted in the log)
_UNSAFE = re.compile(r"[|\x00-\x1f\x7f]")


@dataclass(frozen=True)
class QueueLogLine:
    queue: str
    event: str
    uniqueid: str
    data: tuple[str, ...]

    def action(self) -> dict[str, str]:
        """The AMI QueueLog action writing this line."""
        return {
            "Action": "QueueLog",
            "Queue": clean(self.queue) or NONE,
            "Event": self.event,
            "Uniqueid": clean(self.uniqueid) or NONE,
            "Interface": NONE,
            "Message": "|".join(clean(value) for value in self.data),
        }


def clean(value: str) -> str:
    """One queue_log field: no `|` (it would split the field) and no control characters."""
    return " ".join(_UNSAFE.sub(" ", value).split())


def event_line(event: Event) -> QueueLogLine | None:
    """The line for an event of the owner's monitors (None: not logged)."""
    match event:
        case CallEscalated(failed=False):
            return QueueLogLine(
                event.queue,
                ESCALATE,
                event.call_id,
                (event.step, event.detail, f"{event.wait:.1f}"),
            )
        case CallbackRequested():
            promised = event.promised_by.isoformat(timespec="seconds")
            return QueueLogLine(event.queue, CALLBACK, event.call_id, ("REQUESTED", promised))
        case CallbackAttempted(outcome="answered"):
            data: tuple[str, ...] = ("ANSWERED", str(event.attempt))
            return QueueLogLine(event.queue, CALLBACK, event.call_id, data)
        case CallbackAttempted():
            then = "final" if event.final else "retry"
            data = ("FAILED", str(event.attempt), event.outcome, then)
            return QueueLogLine(event.queue, CALLBACK, event.call_id, data)
    return None


def route_line(event: IvrRoute) -> QueueLogLine:
    data = (event.path, event.line, event.caller_class, str(event.priority))
    return QueueLogLine(event.queue, IVRPATH, event.call_id, data)


class QueueLogWriter:
    """Call it with the owner's domain events, `on_ami` with its AMI events (IvrRoute) and
    `dialled` when its dialer rings a callback; `send` sends one QueueLog action."""

    AMI_EVENTS: tuple[type[AmiEvent], ...] = (IvrRoute,)

    def __init__(
        self, send: Callable[[dict[str, str]], Awaitable[object]], tasks: TaskSet, name: str = ""
    ) -> None:
        self._send = send
        self._tasks = tasks
        self._name = name
        self._lines: asyncio.Queue[QueueLogLine] = asyncio.Queue(MAX_PENDING)
        self._running = False
        self.dropped = 0

    def __call__(self, event: Event) -> None:
        line = event_line(event)
        if line is not None:
            self.put(line)

    def on_ami(self, event: AmiEvent) -> None:
        if isinstance(event, IvrRoute):
            self.put(route_line(event))

    def dialled(self, call_id: str, queue: str, attempt: int) -> None:
        self.put(QueueLogLine(queue, CALLBACK, call_id, ("DIALLED", str(attempt))))

    def put(self, line: QueueLogLine) -> None:
        try:
            self._lines.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("queue_log %s: %d lines waiting, %s dropped", self._name, MAX_PENDING, line)
            return
        if not self._running:
            self._running = True
            self._tasks.spawn(self._run(), name=f"queue-log-{self._name}")

    async def _run(self) -> None:
        while True:
            line = await self._lines.get()
            try:
                await self._send(line.action())
            except Exception as exc:  # AMI down or the action refused: the call goes on
                log.warning(
                    "queue_log %s: %s %s not written: %s",
                    self._name,
                    line.event,
                    line.uniqueid,
                    exc,
                )

"""Publish domain events to telephony admins as AMI UserEvents, off the call path."""

import asyncio
import logging
from collections.abc import Mapping

from ivr.events.model import CallRouted, Event
from ivr.telephony import names
from ivr.telephony.ami import AmiClient

log = logging.getLogger(__name__)

MAX_BACKLOG = 10_000


def _field(value: object) -> str:
    """A header value: caller-controlled text may hold line breaks; AMI headers may not."""
    return " ".join(str(value).replace("\0", " ").splitlines())


def user_event_for(event: Event) -> tuple[str, Mapping[str, str]] | None:
    if isinstance(event, CallRouted):
        return names.EVENT_ROUTE, {
            "CallID": event.call_id,
            "Line": event.line,
            "Caller": event.caller,
            "Queue": event.queue,
            "Class": event.caller_class,
            "Priority": str(event.priority),
            "Path": ">".join(event.menu_path),
        }
    return None


class AmiEventPublisher:
    """Notifier listener: queues UserEvents; run() sends them. A full backlog (AMI down
    for long) drops the oldest with a warning: these are notifications, the journal is
    the record."""

    def __init__(self, ami: AmiClient) -> None:
        self._ami = ami
        self._queue: asyncio.Queue[tuple[str, Mapping[str, str]]] = asyncio.Queue()

    def __call__(self, event: Event) -> None:
        item = user_event_for(event)
        if item is None:
            return
        if self._queue.qsize() >= MAX_BACKLOG:
            dropped = self._queue.get_nowait()
            log.warning("AMI event backlog full: dropped %s", dropped[0])
        self._queue.put_nowait((item[0], {k: _field(v) for k, v in item[1].items()}))

    async def run(self) -> None:
        while True:
            name, fields = await self._queue.get()
            try:
                await self._ami.user_event(name, **fields)
            except Exception as exc:
                log.warning("could not send UserEvent %s: %s", name, exc)

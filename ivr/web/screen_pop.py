"""Screen pop: the card an agent sees when a call is answered.

`ScreenPop` listens to the Notifier. It remembers each routed call (line, caller, queue,
class, menu path, the subscriber the menu identified) until the call ends; when an agent
answers (CallAnswered) it looks the subscriber up in a worker thread (by id when the menu
identified him, else by the caller's phone), adds what the line says (city, sphere) and
shows the card to that agent. The end of the call (CallCompleted or CallEnded) marks the
card ended; it stays until the agent's next call, so the agent can finish filing.

Listeners follow one agent with `watch(agent)`: the event is set when the agent's card
changes and when the agent's state changes (AgentChanged).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ivr.events.model import (
    AgentChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallFinishedInMenu,
    CallRouted,
    Event,
)
from ivr.flow.model import Line
from ivr.storage.batch import brief
from ivr.subscribers import Subscriber
from ivr.tasks import TaskSet
from ivr.web.cards import subscriber_card

log = logging.getLogger(__name__)

REMEMBER = 5000  # routed calls and unfinished cards kept at most (the oldest go first)
LOOKUP_TIMEOUT = 3.0  # seconds: after that the card shows without the subscriber
# Non-target callers (appeals: agencies, police, suppliers...) get no subscriber data at all.
NO_SUBSCRIBER_CLASSES = frozenset({"non_target"})


class SubscriberLookup(Protocol):
    def find_by_id(self, subscriber_id: int) -> Subscriber | None: ...
    def find_by_phone(self, phone: str) -> Subscriber | None: ...


@dataclass
class Card:
    agent: str
    call_id: str
    line: str
    line_city: str
    line_sphere: str
    caller: str
    queue: str
    caller_class: str
    menu_path: tuple[str, ...]
    answered_at: datetime
    wait: float  # seconds the caller waited in the queue
    subscriber_id: int | None  # the menu's identification, if any
    ended: bool = False
    subscriber: Subscriber | None = None

    def view(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "line": self.line,
            "line_city": self.line_city,
            "line_sphere": self.line_sphere,
            "caller": self.caller,
            "queue": self.queue,
            "caller_class": self.caller_class,
            "menu_path": list(self.menu_path),
            "answered_at": self.answered_at.isoformat(),
            "wait": round(self.wait, 3),
            "ended": self.ended,
            "subscriber": subscriber_card(self.subscriber) if self.subscriber else None,
        }


class ScreenPop:
    """Subscribe it to the Notifier; read `card(agent)`, follow `watch(agent)`."""

    def __init__(
        self,
        directory: SubscriberLookup,
        lines: Callable[[], Mapping[str, Line]],
        tasks: TaskSet,
        *,
        remember: int = REMEMBER,
        lookup_timeout: float = LOOKUP_TIMEOUT,
        run: Callable[..., Awaitable[Any]] = asyncio.to_thread,  # where a lookup's thread runs
    ) -> None:
        self._directory = directory
        self._run = run
        self._lines = lines
        self._tasks = tasks
        self._remember = remember
        self._lookup_timeout = lookup_timeout
        self._routed: OrderedDict[str, CallRouted] = OrderedDict()
        self._live: OrderedDict[str, Card] = OrderedDict()  # answered, not ended, by call
        self._latest: dict[str, str] = {}  # agent -> the call he answered last
        self._cards: dict[str, Card] = {}  # agent -> the card shown
        self._watchers: dict[str, set[asyncio.Event]] = {}

    # --- reading ----------------------------------------------------------------------

    def card(self, agent: str) -> dict[str, Any] | None:
        card = self._cards.get(agent)
        return card.view() if card is not None else None

    @property
    def remembered(self) -> int:
        """Calls held in memory (routed, or answered and not ended)."""
        return len(self._routed) + len(self._live)

    @contextmanager
    def watch(self, agent: str) -> Iterator[asyncio.Event]:
        """An event set whenever the agent's card or state changes (clear it, then read)."""
        wake = asyncio.Event()
        self._watchers.setdefault(agent, set()).add(wake)
        try:
            yield wake
        finally:
            watchers = self._watchers.get(agent, set())
            watchers.discard(wake)
            if not watchers:
                self._watchers.pop(agent, None)

    @property
    def watchers(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    # --- the Notifier -----------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallRouted):
            self._keep(self._routed, event.call_id, event)
        elif isinstance(event, CallAnswered):
            self._answered(event)
        elif isinstance(event, CallCompleted | CallEnded):
            self._ended(event.call_id)
        elif isinstance(event, CallAbandoned | CallFinishedInMenu):
            self._routed.pop(event.call_id, None)
        elif isinstance(event, AgentChanged):
            self._wake(event.agent)

    def _keep(self, memory: "OrderedDict[str, Any]", call_id: str, value: object) -> None:
        memory[call_id] = value
        memory.move_to_end(call_id)
        while len(memory) > self._remember:
            memory.popitem(last=False)

    def _answered(self, event: CallAnswered) -> None:
        routed = self._routed.get(event.call_id)
        line = self._lines().get(routed.line) if routed else None
        card = Card(
            agent=event.agent,
            call_id=event.call_id,
            line=routed.line if routed else "",
            line_city=line.city if line else "",
            line_sphere=str(line.sphere) if line else "",
            caller=routed.caller if routed else "",
            queue=event.queue,
            caller_class=routed.caller_class if routed else "",
            menu_path=routed.menu_path if routed else (),
            answered_at=event.at,
            wait=event.wait,
            subscriber_id=routed.subscriber_id if routed else None,
        )
        self._keep(self._live, event.call_id, card)
        self._latest[event.agent] = event.call_id
        self._tasks.spawn(self._show(card), name=f"screen-pop-{event.call_id}")

    def _ended(self, call_id: str) -> None:
        self._routed.pop(call_id, None)
        card = self._live.pop(call_id, None)
        if card is not None:
            card.ended = True
            if self._cards.get(card.agent) is card:
                self._wake(card.agent)

    # --- subscriber look-ups ----------------------------------------------------------

    async def _show(self, card: Card) -> None:
        """Look the subscriber up, then show the card (unless a newer call came first)."""
        card.subscriber = await self._find(card)
        if self._latest.get(card.agent) == card.call_id:
            self._cards[card.agent] = card
            self._wake(card.agent)

    async def refresh(self, agent: str) -> dict[str, Any] | None:
        """Read the shown card's subscriber again (after the agent reconciled phones: an
        unknown caller may be known now). Returns the card."""
        card = self._cards.get(agent)
        if card is not None:
            card.subscriber = await self._find(card)
            self._wake(agent)
        return self.card(agent)

    def subscriber_changed(self, subscriber_id: int) -> None:
        """An account was edited (phones reconciled): cards showing it are read again, and
        so are cards without a subscriber (the caller's number may belong to it now)."""
        for agent, card in self._cards.items():
            if card.subscriber is None or card.subscriber.id == subscriber_id:
                self._tasks.spawn(self.refresh(agent), name=f"screen-pop-refresh-{agent}")

    async def _find(self, card: Card) -> Subscriber | None:
        """The card's subscriber read from the store; a failing or slow store keeps what
        the card already shows."""
        if card.caller_class in NO_SUBSCRIBER_CLASSES:
            return None  # an appeal: the operator gives out no subscriber data
        known = card.subscriber.id if card.subscriber else card.subscriber_id
        try:
            found: Subscriber | None = None
            async with asyncio.timeout(self._lookup_timeout):
                if known is not None:
                    found = await self._run(self._directory.find_by_id, known)
                elif card.caller:
                    found = await self._run(self._directory.find_by_phone, card.caller)
            return found
        except Exception as exc:
            log.warning(
                "screen pop for call %s: subscriber not found: %s", card.call_id, brief(exc)
            )
            return card.subscriber

    def _wake(self, agent: str) -> None:
        for wake in self._watchers.get(agent, ()):
            wake.set()

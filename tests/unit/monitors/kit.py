"""Fakes and recorded-AMI-style messages for the queue monitors' tests (no Asterisk)."""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ivr.events.model import Event
from ivr.queues.model import QueuesConfig, parse_queues
from ivr.telephony import names
from ivr.telephony.ami_events import AmiEvents, IvrRoute
from tests.fake_clock import FakeClock

E = TypeVar("E")

CALLER = "PJSIP/trunk-00000001"  # the caller's channel
AGENT = "Local/1001@ivr-agents-00000002;1"  # the agent's leg
LINE = "5552000"
PHONE = "0671112233"


def queues(spec: Mapping[str, Mapping[str, Any]], **callbacks: Any) -> QueuesConfig:
    """A queues.yaml with these queues, two caller classes, agent 1001 skilled in every
    queue and the callback policy written in `callbacks`."""
    return parse_queues(
        {
            "caller_classes": {"vip": {"priority": 10}, "regular": {"priority": 5}},
            "fallback_queue": next(iter(spec)),
            "callbacks": {"dial": "PJSIP/{phone}@provider", **callbacks},
            "agents": {
                "1001": {
                    "name": "Olena",
                    "interface": "Local/1001@ivr-agents",
                    "skills": dict.fromkeys(spec, 0),
                }
            },
            "queues": {name: dict(settings) for name, settings in spec.items()},
        }
    )


class Published:
    """The publish callback: every event, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


class Actions:
    """WaitingActions and TalkActions: records each call with its time (the loop's, or
    `clock`'s); an action named in `failures` raises that exception (after being recorded)."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock
        self.calls: list[tuple[Any, ...]] = []
        self.times: list[float] = []
        self.failures: dict[str, Exception] = {}
        self.remembered: list[tuple[str, str, tuple[int, ...]]] = []
        # the channel variables the dialplan would read, as ivr.telephony.queue_actions sets them
        self.variables: dict[str, dict[str, str]] = {}
        self.peers: dict[str, str] = {}  # caller channel -> BRIDGEPEER
        self.ladder_kept: asyncio.Event | None = None  # set: remember_ladder waits for it

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]

    def at(self, name: str) -> list[float]:
        return [t for t, call in zip(self.times, self.calls, strict=True) if call[0] == name]

    def _do(self, *call: Any) -> None:
        self.calls.append(call)
        self.times.append(self._clock() if self._clock else asyncio.get_running_loop().time())
        failure = self.failures.get(call[0])
        if failure is not None:
            raise failure

    async def change_priority(self, queue: str, channel: str, priority: int) -> None:
        self._do("change_priority", queue, channel, priority)

    async def move_to_queue(self, channel: str, queue: str, priority: int) -> None:
        self._do("move_to_queue", channel, queue, priority)
        moved = {names.VAR_QUEUE: queue, names.VAR_PRIORITY: str(priority)}
        self.variables.setdefault(channel, {}).update(moved)

    async def set_variables(self, channel: str, values: Mapping[str, str]) -> None:
        self._do("set_variables", channel, dict(values))
        self.variables.setdefault(channel, {}).update(values)

    async def whisper(self, channel: str, sound: str) -> None:
        self._do("whisper", channel, sound)

    async def remember_ladder(
        self, channel: str, ladder: str, done: Sequence[int], priority: int
    ) -> None:
        """Kept apart from `calls`: bookkeeping on the channel, not an action on the call."""
        if self.ladder_kept is not None:
            await self.ladder_kept.wait()
        self.remembered.append((channel, ladder, tuple(done)))
        self.variables.setdefault(channel, {})[names.VAR_PRIORITY] = str(priority)

    async def hangup(self, channel: str) -> None:
        self._do("hangup", channel)

    async def bridge_peer(self, channel: str) -> str:
        """A query, not an action (not in `calls`): `peers` as Asterisk would answer."""
        return self.peers.get(channel, "")


class Prompts:
    """prompt_sound: a sound per prompt name (None: no such prompt)."""

    def __init__(self, sounds: Mapping[str, str | None]) -> None:
        self.sounds = dict(sounds)
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, name: str, language: str, values: Mapping[str, str]) -> str | None:
        self.calls.append((name, language, dict(values)))
        return self.sounds.get(name)


async def until(clock: FakeClock, start: float, offset: float) -> None:
    """Move `clock` on to `start + offset` (not back)."""
    await clock.advance_to(start + offset)


def subscribed(*subscribers: Any) -> AmiEvents:
    """What the engine's AMI client calls with each raw event: parsed once, dispatched to
    `subscribers` as the engine subscribes them (their AMI_EVENTS, their on_ami)."""
    events = AmiEvents()
    for subscriber in subscribers:
        events.subscribe(subscriber.AMI_EVENTS, subscriber.on_ami)
    return events


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll until `check()` holds; fail after `timeout` seconds."""
    step = 0.005
    for _ in range(round(timeout / step)):
        if check():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"still not true after {timeout} s: {check}")


# --- AMI messages as app_queue sends them ----------------------------------------------


def _channel(call_id: str, channel: str) -> dict[str, str]:
    return {
        "Privilege": "agent,all",
        "Channel": channel,
        "ChannelState": "6",
        "ChannelStateDesc": "Up",
        "CallerIDNum": PHONE,
        "CallerIDName": "<unknown>",
        "Language": "uk",
        "Context": "ivr-queue",
        "Exten": "s",
        "Priority": "2",
        "Uniqueid": call_id,
        "Linkedid": call_id,
    }


def join(call_id: str, queue: str, position: int = 1, channel: str = CALLER) -> dict[str, str]:
    return {
        "Event": "QueueCallerJoin",
        **_channel(call_id, channel),
        "Queue": queue,
        "Position": str(position),
        "Count": str(position),
    }


def leave(call_id: str, queue: str, channel: str = CALLER) -> dict[str, str]:
    return {
        "Event": "QueueCallerLeave",
        **_channel(call_id, channel),
        "Queue": queue,
        "Position": "1",
        "Count": "0",
    }


def abandon(call_id: str, queue: str, channel: str = CALLER) -> dict[str, str]:
    return {
        "Event": "QueueCallerAbandon",
        **_channel(call_id, channel),
        "Queue": queue,
        "Position": "1",
        "OriginalPosition": "1",
        "HoldTime": "0",
    }


def _agent_fields(call_id: str, queue: str) -> dict[str, str]:
    return {
        **_channel(call_id, CALLER),
        "DestChannel": AGENT,
        "DestChannelState": "6",
        "DestCallerIDNum": "1001",
        "DestUniqueid": f"{call_id}-agent",
        "DestLinkedid": call_id,
        "Queue": queue,
        "Interface": "Local/1001@ivr-agents",
        "MemberName": "1001",
        "HoldTime": "0",
        "RingTime": "1",
    }


def connect(call_id: str, queue: str) -> dict[str, str]:
    return {"Event": "AgentConnect", **_agent_fields(call_id, queue)}


def complete(call_id: str, queue: str, reason: str) -> dict[str, str]:
    return {
        "Event": "AgentComplete",
        **_agent_fields(call_id, queue),
        "TalkTime": "0",
        "Reason": reason,
    }


def hangup(call_id: str, channel: str = CALLER) -> dict[str, str]:
    return {
        "Event": "Hangup",
        **_channel(call_id, channel),
        "Cause": "16",
        "Cause-txt": "Normal Clearing",
    }


def user_event(name: str, call_id: str, **fields: str) -> dict[str, str]:
    return {"Event": "UserEvent", **_channel(call_id, CALLER), "UserEvent": name, **fields}


def routed(
    call_id: str,
    queue: str,
    caller_class: str = "vip",
    priority: int = 10,
    language: str = "uk",
) -> IvrRoute:
    """The dialplan's IvrRoute for a call the menu routed (as parsed from AMI)."""
    return IvrRoute(
        call_id, PHONE, LINE, caller_class, queue=queue, priority=priority, language=language
    )


def queue_entry(
    call_id: str, queue: str, wait: float, priority: int = 0, channel: str = CALLER
) -> dict[str, str]:
    """A QueueStatus QueueEntry as app_queue sends it."""
    return {
        "Event": "QueueEntry",
        "Queue": queue,
        "Position": "1",
        "Channel": channel,
        "Uniqueid": call_id,
        "CallerIDNum": PHONE,
        "CallerIDName": "unknown",
        "ConnectedLineNum": "unknown",
        "ConnectedLineName": "unknown",
        "Wait": str(int(wait)),
        "Priority": str(priority),
    }

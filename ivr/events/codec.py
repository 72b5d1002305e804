"""Events as JSON and back: the storage outbox (ivr.storage.spool) keeps them on disk.

One JSON object per event: {"event": its class name, ...its fields}; datetimes as ISO 8601,
tuples as lists. The classes are written out (no discovery): an unknown name is refused.
"""

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ivr.events import model
from ivr.events.model import Event

EVENT_CLASSES: Mapping[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        model.CallStarted,
        model.CallRouted,
        model.CallFellBack,
        model.CallQueued,
        model.CallEnded,
        model.CallFinishedInMenu,
        model.MeterReadingSubmitted,
        model.UnreachableReported,
        model.CallbackRequested,
        model.CallAnswered,
        model.CallAbandoned,
        model.WaitPredicted,
        model.AnswerTargetMissed,
        model.CallEscalated,
        model.TalkLimitReached,
        model.CallCompleted,
        model.CallbackAttempted,
        model.AgentChanged,
        model.AgentRang,
        model.CallMonitored,
        model.OutageSuspected,
        model.OutageSubsided,
    )
}


class EventDecodeError(ValueError):
    """A stored event that cannot be read back (unknown class, missing or bad field)."""


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an event")


def encode(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready mapping (tuples become lists, datetimes stay objects).
    Events are flat, so a field-by-field copy does (`asdict` deep-copies: a burst's cost)."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return {"event": type(event).__name__, **fields}


def dumps(event: Event) -> str:
    """One line of ASCII JSON (escapes keep NUL and lone surrogates storable)."""
    return json.dumps(encode(event), default=_plain, ensure_ascii=True, separators=(",", ":"))


def _is_datetime(kind: object) -> bool:
    if kind is datetime:
        return True
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return datetime in typing.get_args(kind)
    return False


def decode(data: Mapping[str, Any]) -> Event:
    """The event `encode` made (after a JSON round trip)."""
    name = data.get("event")
    cls = EVENT_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise EventDecodeError(f"not an event class: {name!r}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    try:
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue  # a field added since: its default
            value = data[f.name]
            kind = hints[f.name]
            if value is not None and _is_datetime(kind):
                value = datetime.fromisoformat(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
        event: Event = cls(**values)
    except (TypeError, ValueError) as exc:
        raise EventDecodeError(f"{name}: {exc}") from exc
    return event


def loads(line: str) -> Event:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise EventDecodeError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventDecodeError("not a JSON object")
    return decode(data)

"""queues.yaml as a frozen, validated model."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class QueuesConfigError(ValueError):
    """queues.yaml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class CallerClass:
    name: str
    priority: int


@dataclass(frozen=True)
class QueueSpec:
    name: str
    title: str
    answer_target: int
    talk_guideline: int
    ring_time: int
    retry: int
    wrapup: int
    strategy: str


@dataclass(frozen=True)
class QueuesConfig:
    caller_classes: Mapping[str, CallerClass]
    queues: Mapping[str, QueueSpec]
    fallback_queue: str


STRATEGIES = frozenset(
    {
        "ringall",
        "leastrecent",
        "fewestcalls",
        "random",
        "rrmemory",
        "linear",
        "wrandom",
        "rrordered",
    }
)
QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]+")
RESERVED_NAMES = ("general",)  # [general] is queues.conf's own settings section
QUEUE_SETTINGS = ("answer_target", "talk_guideline", "ring_time", "retry", "wrapup")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise QueuesConfigError(f"{where}: expected a mapping")
    return value


def _seconds(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueuesConfigError(f"{where}: expected a whole number of seconds >= 0, got {value!r}")
    return value


def parse_queues(data: Any, source: str = "queues.yaml") -> QueuesConfig:
    root = _mapping(data, source)
    classes = {}
    for name, spec in _mapping(root.get("caller_classes"), f"{source}: caller_classes").items():
        prio = _mapping(spec, f"{source}: caller_classes.{name}").get("priority")
        if isinstance(prio, bool) or not isinstance(prio, int):
            raise QueuesConfigError(
                f"{source}: caller_classes.{name}.priority: expected an integer"
            )
        classes[name] = CallerClass(name, prio)
    defaults = _mapping(root.get("defaults", {}), f"{source}: defaults")
    queues = {}
    for name, spec in _mapping(root.get("queues"), f"{source}: queues").items():
        where = f"{source}: queues.{name}"
        if not QUEUE_NAME.fullmatch(str(name)) or name in RESERVED_NAMES:
            raise QueuesConfigError(
                f"{where}: a queue name is letters, digits, '_' or '-', and not {RESERVED_NAMES}"
            )
        spec = _mapping(spec or {}, where)
        merged = {**defaults, **spec}
        strategy = merged.get("strategy", "rrmemory")
        if strategy not in STRATEGIES:
            raise QueuesConfigError(f"{where}.strategy: expected one of {sorted(STRATEGIES)}")
        values = {key: _seconds(merged.get(key, 0), f"{where}.{key}") for key in QUEUE_SETTINGS}
        queues[name] = QueueSpec(
            name=name, title=str(merged.get("title", name)), strategy=strategy, **values
        )
    fallback = root.get("fallback_queue")
    if fallback not in queues:
        raise QueuesConfigError(
            f"{source}: fallback_queue: {fallback!r} is not a queue (queues: {sorted(queues)})"
        )
    return QueuesConfig(caller_classes=classes, queues=queues, fallback_queue=fallback)


def load_queues(path: str | Path) -> QueuesConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QueuesConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise QueuesConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_queues(data, str(path))

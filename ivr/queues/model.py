"""queues.yaml as a frozen, validated model: caller classes, queues with their time
targets and escalation ladders, agents with skills, and the callback policy.

Every problem is reported as `file:line:col: key: message`, all of them at once; the
value checks are in ivr.queues.validate.
"""

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from ivr.queues import validate as v
from ivr.yamlfiles.problems import Located, Problem, Problems, in_file_order, validate_yaml_file
from ivr.yamlfiles.problems import Path as KeyPath

log = logging.getLogger(__name__)
ROOT_KEYS = (
    "caller_classes",
    "fallback_queue",
    "defaults",
    "callbacks",
    "recordings",
    "outage_alerts",
    "agents",
    "queues",
)


class QueuesConfigError(ValueError):
    """queues.yaml is invalid; the message is every problem, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class CallerClass:
    name: str
    priority: int  # QUEUE_PRIO: higher is served first


@dataclass(frozen=True)
class EscalationStep:
    after: float  # seconds the caller has waited (since first joining a queue)
    action: str  # raise_priority | overflow | offer_callback
    raise_by: int = 0  # raise_priority: added to the caller's current QUEUE_PRIO
    queue: str = ""  # overflow: the queue the caller is moved to


@dataclass(frozen=True)
class Announcement:
    """What a waiting caller is told of his place: by the engine (a prompt in his
    language, whispered) or by app_queue (its own sounds, in the channel's language)."""

    by: str = "engine"  # engine | asterisk
    position: bool = False  # "your place in the queue: N"
    wait: bool = False  # the predicted wait, in minutes
    every: float = 0  # seconds between announcements; 0: once, at the join

    @property
    def on(self) -> bool:
        return self.position or self.wait


@dataclass(frozen=True)
class QueueSpec:
    name: str
    title: str
    answer_target: float  # service level: answered within this many seconds
    talk_warning: float  # warn the agent after this long; 0 = no warning
    talk_guideline: float  # a call should last no longer than this
    hard_limit: float  # end the call after this long; 0 = off
    ring_time: int  # app_queue `timeout`: ring one agent this long per attempt
    retry: int  # pause before ringing the next agent
    wrapup: int  # agent's rest after a call
    autopause: str  # no | yes | all
    strategy: str  # app_queue strategy, e.g. rrmemory
    escalation: tuple[EscalationStep, ...] = ()  # sorted by `after`
    record: bool = False  # MixMonitor the answered call (queues.conf monitor-format)
    handle_time: float = 180  # s: the predicted wait's handle time while the journal has none
    early_callback: bool = False  # predicted past answer_target at the join: offer at once
    announce: Announcement = Announcement()
    # % of calls to answer within answer_target: the staffing report's goal (Erlang C)
    service_level_goal: float = 80


@dataclass(frozen=True)
class AgentSpec:
    id: str  # the app_queue MemberName
    name: str  # display name
    interface: str  # TECH/resource, e.g. PJSIP/1001 or Local/1001@agents
    skills: Mapping[str, int]  # queue name -> penalty (0 = first choice)
    # Where app_queue reads the agent's device state (QueueAdd StateInterface), e.g. the
    # phone PJSIP/1001 behind a Local interface; empty: the interface's own state.
    state_interface: str = ""


@dataclass(frozen=True)
class CallbackPolicy:
    promise: float = 1800  # seconds: the interval the caller is told
    max_rings: int = 6  # stop an outbound call after the 6th ring
    ring_seconds: float = 6.0  # one ring cycle (2 s on, 4 s off)
    attempts: int = 3
    retry_after: float = 300  # seconds between attempts
    dial: str = "PJSIP/{phone}@provider"  # channel; {phone} is the caller's number
    caller_id: str = ""
    offer_prompt: str = "queue_callback_offer"  # a prompt in flows/prompts.yaml
    confirm_prompt: str = "queue_callback_confirm"  # played once the caller accepts
    # Whispered instead of the offer to a caller whose number cannot be called back.
    no_number_prompt: str = "queue_callback_no_number"
    accept_key: str = "1"  # the DTMF digit that accepts the offer
    poll_interval: float = 1.0  # seconds between checks for due callbacks
    # A schedule of flows/calendar.yaml: callbacks are dialled and promised within its open
    # hours only; "" = at any time.
    hours: str = ""
    # Played instead of confirm_prompt when the promise runs past closing or the request
    # comes after hours: it says from when ({callback_from}) and by when ({callback_by}).
    later_prompt: str = "queue_callback_confirm_later"
    greeting_prompt: str = "callback_greeting"  # the called-back caller hears it first

    @property
    def ring_timeout_ms(self) -> int:
        """The Originate timeout that lets the callee's phone ring `max_rings` times."""
        return round(self.max_rings * self.ring_seconds * 1000)


@dataclass(frozen=True)
class RecordingPolicy:
    """Recordings of the queues with `record: true`: one WAV per call, <call id>.wav."""

    directory: str = "/var/spool/asterisk/monitor/ivr"  # where Asterisk writes them
    retention_days: float = 90  # older files are deleted; 0 = kept forever
    sweep_interval: float = 3600  # seconds between retention sweeps


@dataclass(frozen=True)
class OutageAlertPolicy:
    """Mass-outage alerts: calls per (city, line, first menu choice) in the last `window`
    against the usual level for that hour of the week (ivr.outages.detector)."""

    enabled: bool = True
    window: float = 600  # seconds of calls counted (a sliding window)
    factor: float = 3.0  # alert at this many times the usual level...
    min_calls: int = 10  # ...and never below this many calls in the window
    clear_ratio: float = 0.5  # the spike is over below this share of the alert level
    baseline_weeks: int = 4  # the usual level: the same hour of the week, this many weeks
    baseline_refresh: float = 3600  # seconds between re-reads of the usual levels
    check_interval: float = 30  # seconds between checks
    message_prompt: str = "outage_suspected_message"  # prompts.yaml: the prefilled message


@dataclass(frozen=True)
class QueuesConfig:
    caller_classes: Mapping[str, CallerClass]
    queues: Mapping[str, QueueSpec]
    fallback_queue: str
    agents: Mapping[str, AgentSpec] = field(default_factory=dict)
    callbacks: CallbackPolicy = CallbackPolicy()
    recordings: RecordingPolicy = RecordingPolicy()
    outage_alerts: OutageAlertPolicy = OutageAlertPolicy()


CALLBACK_KEYS = tuple(f.name for f in fields(CallbackPolicy))
AGENT_KEYS = ("name", "interface", "skills", "state_interface")
RECORDING_KEYS = tuple(f.name for f in fields(RecordingPolicy))
OUTAGE_ALERT_KEYS = tuple(f.name for f in fields(OutageAlertPolicy))
Ladder = list[tuple[v.Step, KeyPath]]  # valid steps and where each is written


def _classes(value: Any, problems: Problems) -> dict[str, CallerClass]:
    path = ("caller_classes",)
    spec = v.mapping(value, path, problems, "a mapping of class name to {priority: N}") or {}
    classes = {}
    for name in v.names(spec, path, problems):
        entry = v.mapping(spec[name], (*path, name), problems, "{priority: N}")
        if entry is None:
            continue
        v.unknown_keys(entry, (*path, name), ("priority",), problems)
        priority = entry.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int):
            message = f"expected an integer (higher is served first), got {priority!r}"
            problems.add((*path, name, "priority"), message)
        elif abs(priority) > v.MAX_WHOLE:
            message = f"expected an integer from -{v.MAX_WHOLE} to {v.MAX_WHOLE}, got {priority!r}"
            problems.add((*path, name, "priority"), message)
        else:
            classes[name] = CallerClass(name, priority)
    return classes


def _queue(
    name: str, spec: Any, defaults: dict[str, v.Checked], problems: Problems
) -> tuple[QueueSpec | None, Ladder]:
    """A queue (None if invalid) and the escalation ladder written in it."""
    where = ("queues", name)
    if not v.NAME.fullmatch(name) or name.lower() in v.RESERVED:
        message = f"a queue name is letters, digits, '_' or '-', and not {', '.join(v.RESERVED)}"
        problems.add(where, message, at_key=True)
    entry = v.mapping({} if spec is None else spec, where, problems, "a mapping of settings")
    if entry is None:
        return None, []
    v.unknown_keys(entry, where, ("title", *v.SETTINGS), problems)
    own = v.settings(entry, where, problems)
    v.check_times(own, defaults, problems)
    title = entry.get("title", name)
    if not isinstance(title, str):
        problems.add((*where, "title"), f"expected text, got {title!r}")
    value = v.effective(own, defaults)
    ladder: Ladder = value.pop("escalation")
    for step, path in ladder:
        if step["queue"] == name:
            why = "" if "escalation" in own else " (it uses the defaults: give it its own)"
            problems.add((*path, "overflow"), f"queue {name!r} would overflow to itself{why}")
    written: Ladder = own.get("escalation", ([], ()))[0]
    if None in value.values() or not isinstance(title, str):
        return None, written
    steps = tuple(EscalationStep(**step) for step, _ in ladder)
    announce = Announcement(**value.pop("announce"))
    return QueueSpec(name=name, title=title, escalation=steps, announce=announce, **value), written


def _agent(agent_id: str, spec: Any, queues: list[str], problems: Problems) -> AgentSpec | None:
    where = ("agents", agent_id)
    if not v.NAME.fullmatch(agent_id):
        problems.add(where, "an agent id is letters, digits, '_' or '-'", at_key=True)
    entry = v.mapping(spec, where, problems, "a mapping with name, interface and skills")
    if entry is None:
        return None
    v.unknown_keys(entry, where, AGENT_KEYS, problems)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add((*where, "name"), f"expected the agent's display name, got {name!r}")
    interface = v.text(
        entry.get("interface"), (*where, "interface"), problems, v.INTERFACE, v.INTERFACE_HINT
    )
    state_interface = ""
    if "state_interface" in entry:
        value = entry["state_interface"]
        path = (*where, "state_interface")
        state_interface = v.text(value, path, problems, v.INTERFACE, v.INTERFACE_HINT) or ""
    path = (*where, "skills")
    skills = v.mapping(entry.get("skills"), path, problems, "a mapping of queue name to penalty")
    penalties: dict[str, int] = {}
    for queue in v.names(skills or {}, path, problems):
        if queue not in queues:
            message = f"unknown queue {queue!r} (queues: {', '.join(sorted(queues))})"
            problems.add((*path, queue), message, at_key=True)
        penalty = v.whole((skills or {})[queue], (*path, queue), problems, 0)
        if penalty is not None:
            penalties[queue] = penalty
    if skills == {}:
        problems.add(path, "no skills: no queue rings this agent", warning=True)
    if not isinstance(name, str) or interface is None or skills is None:
        return None
    return AgentSpec(agent_id, name, interface, penalties, state_interface)


def _agents(
    value: Any, queues: list[str], problems: Problems
) -> tuple[dict[str, AgentSpec], set[str]]:
    """The agents, and every queue some agent (valid or not) has a skill for."""
    raw = v.mapping(value or {}, ("agents",), problems, "a mapping of agent id to agent") or {}
    agents: dict[str, AgentSpec] = {}
    for agent_id in v.names(raw, ("agents",), problems):
        agent = _agent(agent_id, raw[agent_id], queues, problems)
        same = [a.id for a in agents.values() if agent and a.interface == agent.interface]
        if agent is not None and same:
            message = f"{agent.interface!r} is also the interface of agent {same[0]!r}"
            problems.add(("agents", agent_id, "interface"), message)
        elif agent is not None:
            agents[agent_id] = agent
    entries = [e for e in raw.values() if isinstance(e, dict)]
    skilled = {str(q) for e in entries if isinstance(e.get("skills"), dict) for q in e["skills"]}
    return agents, skilled


def _overflows(
    ladders: list[Ladder], queues: list[str], skilled: set[str], problems: Problems
) -> None:
    for step, path in (s for ladder in ladders for s in ladder if s[0]["action"] == "overflow"):
        target = step["queue"]
        if target not in queues:
            message = f"unknown queue {target!r} (queues: {', '.join(sorted(queues))})"
            problems.add((*path, "overflow"), message)
        elif target not in skilled:
            message = f"no agent has a skill for {target!r}: overflowed callers would wait"
            problems.add((*path, "overflow"), message, warning=True)


def _callbacks(value: Any, problems: Problems) -> CallbackPolicy | None:
    spec = v.mapping(value or {}, ("callbacks",), problems, "a mapping of callback settings")
    if spec is None:
        return None
    v.unknown_keys(spec, ("callbacks",), CALLBACK_KEYS, problems)
    found = {
        k: v.callback_setting(k, spec[k], ("callbacks", k), problems)
        for k in CALLBACK_KEYS
        if k in spec
    }
    return None if None in found.values() else CallbackPolicy(**found)


def _phones(agents: Mapping[str, AgentSpec], phones: Collection[str], problems: Problems) -> None:
    """An agent's PJSIP/<id> (interface or state_interface) must be a phone of
    telephony.yaml: any other endpoint never registers, so the agent is never rung."""
    for agent in agents.values():
        for key in ("interface", "state_interface"):
            tech, _, endpoint = getattr(agent, key).partition("/")
            if tech.upper() == "PJSIP" and endpoint not in phones:
                known = ", ".join(sorted(phones)) or "none"
                message = f"{endpoint!r} is not a phone of telephony.yaml (phones: {known})"
                problems.add(("agents", agent.id, key), message)


P = TypeVar("P")


def _section(
    value: Any,
    name: str,
    what: str,
    keys: Sequence[str],
    setting: Callable[[str, Any, tuple[str, ...], Problems], Any],
    make: Callable[..., P],
    problems: Problems,
) -> P | None:
    """A settings section of flat keys (recordings, outage_alerts): unknown keys refused,
    each key checked by `setting`; None when any is wrong."""
    where = (name,)
    spec = v.mapping(value or {}, where, problems, f"a mapping of {what} settings")
    if spec is None:
        return None
    v.unknown_keys(spec, where, keys, problems)
    found = {k: setting(k, spec[k], (*where, k), problems) for k in keys if k in spec}
    return None if None in found.values() else make(**found)


def _check(
    data: Any, problems: Problems, phones: Collection[str] | None = None
) -> QueuesConfig | None:
    """The config, or None when `problems` has errors; every problem is collected.
    `phones`: telephony.yaml's phone ids, which agents' PJSIP interfaces must name."""
    root = v.mapping(data, (), problems, "a mapping with caller_classes, fallback_queue, queues")
    if root is None:
        return None
    v.unknown_keys(root, (), ROOT_KEYS, problems)
    for key in ("caller_classes", "fallback_queue", "queues"):
        if key not in root:
            problems.add((key,), "missing (required)")
    classes = _classes(root["caller_classes"], problems) if "caller_classes" in root else {}
    defaults = v.mapping(root.get("defaults") or {}, ("defaults",), problems, "a mapping") or {}
    v.unknown_keys(defaults, ("defaults",), v.SETTINGS, problems)
    default_settings = v.settings(defaults, ("defaults",), problems)
    raw = v.mapping(root.get("queues", {}), ("queues",), problems, "a mapping of queues") or {}
    names = v.names(raw, ("queues",), problems)
    queues, ladders = {}, [default_settings.get("escalation", ([], ()))[0]]
    for name in names:
        queue, ladder = _queue(name, raw[name], default_settings, problems)
        ladders.append(ladder)
        if queue is not None:
            queues[name] = queue
    fallback = root.get("fallback_queue")
    if "fallback_queue" in root and fallback not in names:
        message = f"{fallback!r} is not a queue (queues: {', '.join(sorted(names))})"
        problems.add(("fallback_queue",), message)
    agents, skilled = _agents(root.get("agents"), names, problems)
    if phones is not None:
        _phones(agents, phones, problems)
    _overflows(ladders, names, skilled, problems)
    callbacks = _callbacks(root.get("callbacks"), problems)
    recordings = _section(
        root.get("recordings"),
        "recordings",
        "recording",
        RECORDING_KEYS,
        v.recording_setting,
        RecordingPolicy,
        problems,
    )
    outage_alerts = _section(
        root.get("outage_alerts"),
        "outage_alerts",
        "outage alert",
        OUTAGE_ALERT_KEYS,
        v.outage_alert_setting,
        OutageAlertPolicy,
        problems,
    )
    if problems.errors or None in (callbacks, recordings, outage_alerts):
        return None
    assert callbacks and recordings and outage_alerts
    return QueuesConfig(
        classes, queues, str(fallback), agents, callbacks, recordings, outage_alerts
    )


def parse_queues(
    data: Any, source: str = "queues.yaml", located: Located | None = None
) -> QueuesConfig:
    """queues.yaml data as a model; QueuesConfigError lists every problem."""
    problems = Problems(source, located)
    config = _check(data, problems)
    if config is None:
        raise QueuesConfigError(in_file_order(problems.items))
    return config


def validate_queues(
    path: str | Path, phones: Collection[str] | None = None
) -> tuple[QueuesConfig | None, list[Problem]]:
    """The config (None on errors) and every problem; never raises for bad content.
    With `phones` (telephony.yaml's), an agent's PJSIP/<id> must be one of them."""
    return validate_yaml_file(path, lambda data, problems: _check(data, problems, phones))


def load_queues(path: str | Path) -> QueuesConfig:
    """The validated config; QueuesConfigError lists every problem. Warnings are logged."""
    config, problems = validate_queues(path)
    if config is None:
        raise QueuesConfigError(problems)
    for problem in problems:
        log.warning("%s", problem)
    return config

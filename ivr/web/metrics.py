"""GET /metrics: the dashboard snapshot in the Prometheus text format.

Every metric is a gauge read from the live board's snapshot at scrape time (its schema is
in ivr.web.live.views). Counts and KPIs cover "today": since local midnight in the flows
calendar's time zone, so they drop back to zero at midnight. Labels are queue names, line
numbers, agent ids and states only: no caller numbers, names or other personal data. A
null value (a ratio with no call behind it yet) has no sample. The storage writers' figures
(backlog, dead letters) are read from the writers themselves, labelled by writer name.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr.storage.batch import WriterStats

Snapshot = Callable[[], Mapping[str, Any]]
StorageStats = Callable[[], Mapping[str, WriterStats]]
AGENT_STATES = ("ready", "paused", "logged_out", "in_call", "ringing", "unavailable")


@dataclass(frozen=True)
class Gauge:
    """One metric read from a field of every entry (or of one mapping) in the snapshot."""

    name: str
    field: str
    help: str
    today: bool = True  # the value covers the window since local midnight


# Per queue and per line (prefix ivr_line_), from snapshot["queues"] and ["lines"].
CALL_GAUGES = (
    Gauge("offered_calls", "offered", "Calls offered (answered + abandoned)"),
    Gauge("answered_calls", "answered", "Calls answered by an agent"),
    Gauge(
        "answered_within_target_calls", "within_target", "Calls answered within the answer target"
    ),
    Gauge("abandoned_calls", "abandoned", "Callers who hung up while waiting"),
    Gauge("service_level_ratio", "service_level", "Service level (share answered within target)"),
    Gauge("average_speed_of_answer_seconds", "asa", "Average wait of answered calls"),
    Gauge("average_talk_seconds", "average_talk", "Average talk time of completed calls"),
    Gauge("abandon_ratio", "abandon_rate", "Abandoned calls / offered calls"),
    Gauge("talk_guideline_breaches", "over_guideline", "Calls longer than the talk guideline"),
)
QUEUE_GAUGES = (
    Gauge("waiting_callers", "waiting", "Callers waiting in the queue now", today=False),
    Gauge("longest_wait_seconds", "longest_wait", "Longest current wait", today=False),
    Gauge(
        "ready_agents", "ready_agents", "Agents ready to take the queue's calls now", today=False
    ),
    Gauge("talking_agents", "talking", "Agents talking on the queue's calls now", today=False),
    Gauge("answer_target_seconds", "answer_target", "The queue's answer target", today=False),
    *CALL_GAUGES,
)
AGENT_GAUGES = (
    Gauge("agent_state_seconds", "in_state", "Seconds in the current state", today=False),
    Gauge("agent_answered_calls", "answered", "Calls the agent answered"),
    Gauge("agent_talk_seconds", "talk_seconds", "The agent's talk time"),
    Gauge("agent_average_talk_seconds", "average_talk", "The agent's average talk time"),
    Gauge("agent_occupancy_ratio", "occupancy", "In-call time / (logged-in - not-ready time)"),
    Gauge("agent_not_ready_seconds", "not_ready_seconds", "Time the agent spent paused"),
    Gauge("agent_ringing_seconds", "ringing_seconds", "Time the agent's phone rang"),
)
OVERALL_GAUGES = tuple(
    Gauge(f"overall_{g.name}", g.field, f"{g.help}, every queue") for g in CALL_GAUGES
)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class SnapshotCollector:
    """A prometheus_client collector that turns one snapshot into metric families."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        window = f"since local midnight ({snap.get('timezone') or 'UTC'})"
        totals = snap.get("totals") or {}
        for gauge in QUEUE_GAUGES:
            yield _family(f"ivr_{gauge.name}", gauge, window, "queue", snap.get("queues") or ())
        for gauge in CALL_GAUGES:
            yield _family(f"ivr_line_{gauge.name}", gauge, window, "line", snap.get("lines") or ())
        for gauge in OVERALL_GAUGES:
            yield _family(f"ivr_{gauge.name}", gauge, window, None, [totals])
        yield from _agent_families(snap.get("agents") or (), window)
        yield _labelled(
            "ivr_unreachable_reports",
            f"Unreachable-number reports logged against the line, {window}",
            "line",
            {str(u["line"]): u["reports"] for u in snap.get("unreachable") or ()},
        )
        yield _labelled(
            "ivr_callbacks",
            "Callback requests by status, all time (open and dialling: still to be called back)",
            "status",
            dict(snap.get("callbacks") or {}),
        )
        yield _single(
            "ivr_open_callbacks",
            "Callback requests still to be called back (open + dialling)",
            totals,
            "open_callbacks",
        )
        since = snap.get("since")
        start = GaugeMetricFamily(
            "ivr_kpi_window_start_timestamp_seconds",
            "Start of the KPI window (local midnight) as a Unix time",
        )
        if since:
            start.add_metric([], datetime.fromisoformat(since).timestamp())
        yield start


def _help(gauge: Gauge, window: str) -> str:
    return f"{gauge.help}, {window}" if gauge.today else gauge.help


def _family(
    name: str,
    gauge: Gauge,
    window: str,
    label: str | None,
    entries: Sequence[Mapping[str, Any]],
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, _help(gauge, window), labels=[label] if label else [])
    key = "id" if label == "agent" else "key"
    for entry in entries:
        value = _number(entry.get(gauge.field))
        if value is not None:
            family.add_metric([str(entry[key])] if label else [], value)
    return family


def _labelled(name: str, text: str, label: str, values: Mapping[str, Any]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=[label])
    for key, value in values.items():
        number = _number(value)
        if number is not None:
            family.add_metric([str(key)], number)
    return family


def _single(name: str, text: str, values: Mapping[str, Any], field: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text)
    value = _number(values.get(field))
    if value is not None:
        family.add_metric([], value)
    return family


def _agent_families(agents: Sequence[Mapping[str, Any]], window: str) -> Iterator[Metric]:
    counts = dict.fromkeys(AGENT_STATES, 0)
    current = GaugeMetricFamily(
        "ivr_agent_state", "1 for the state each agent is in now", labels=["agent", "state"]
    )
    for agent in agents:
        state = str(agent["state"])
        counts[state] = counts.get(state, 0) + 1
        current.add_metric([str(agent["id"]), state], 1)
    yield _labelled("ivr_agents", "Agents in each state now", "state", counts)
    yield current
    for gauge in AGENT_GAUGES:
        yield _family(f"ivr_{gauge.name}", gauge, window, "agent", agents)


class StorageCollector:
    """The storage writers: backlog now, dead letters since the engine started."""

    def __init__(self, stats: StorageStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        writers = self._stats()
        backlog = GaugeMetricFamily(
            "ivr_storage_backlog",
            "Events a storage writer received and has not written yet",
            labels=["writer"],
        )
        dead = CounterMetricFamily(
            "ivr_storage_dead_letters",
            "Events a storage writer set aside because the database refused their data"
            " (since the engine started; kept in table dead_letters)",
            labels=["writer"],
        )
        last = GaugeMetricFamily(
            "ivr_storage_last_dead_letter_timestamp_seconds",
            "When a storage writer last set an event aside, as a Unix time",
            labels=["writer"],
        )
        outbox: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "rows": GaugeMetricFamily(
                "ivr_outbox_rows",
                "Events in a writer's local outbox not yet in the database",
                labels=["writer"],
            ),
            "oldest": GaugeMetricFamily(
                "ivr_outbox_oldest_age_seconds",
                "Age of the oldest event in a writer's outbox (absent when empty)",
                labels=["writer"],
            ),
            "bytes": GaugeMetricFamily(
                "ivr_outbox_bytes", "Bytes a writer's outbox takes on disk", labels=["writer"]
            ),
            "dropped": CounterMetricFamily(
                "ivr_outbox_dropped",
                "Events dropped because a writer's outbox was full (since the engine started)",
                labels=["writer"],
            ),
        }
        for name, stats in writers.items():
            backlog.add_metric([name], stats.backlog)
            dead.add_metric([name], stats.dead_letters)
            if stats.last_dead_letter_at is not None:
                last.add_metric([name], stats.last_dead_letter_at.timestamp())
            if (box := stats.outbox) is not None:
                outbox["rows"].add_metric([name], box.rows)
                if box.oldest_age is not None:
                    outbox["oldest"].add_metric([name], box.oldest_age)
                outbox["bytes"].add_metric([name], box.bytes)
                outbox["dropped"].add_metric([name], box.dropped)
        yield from (backlog, dead, last, *outbox.values())


def metrics_registry(
    snapshot: Snapshot,
    storage: StorageStats | None = None,
    collectors: Sequence[Collector] = (),
) -> CollectorRegistry:
    """What GET /metrics serves (ivr.web.routes.system): `snapshot` (called once per scrape,
    on the event loop: it must be quick, e.g. the board's latest cached snapshot), the
    `storage` writers' stats and other `collectors`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    if storage is not None:
        registry.register(StorageCollector(storage))
    for collector in collectors:  # e.g. the database state (ivr.web.metrics_database)
        registry.register(collector)
    return registry

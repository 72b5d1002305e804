"""Mass-outage detection, pure: calls per (city, line, first menu choice) in a sliding
window against the usual level for that hour of the week, with hysteresis (one alert per
spike, cleared when it subsides). No I/O: the engine feeds it the journal's calls."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ivr.queues.model import OutageAlertPolicy

HOUR = 3600.0


@dataclass(frozen=True, order=True)
class SpikeKey:
    city: str  # the identified subscriber's city, else the line's
    line: str  # the DID dialled
    choice: str  # the first menu choice, e.g. "menu:2" ("" if the menu had none)


Seen = tuple[SpikeKey, datetime]  # one call: its key and when it started


@dataclass(frozen=True)
class Spike:
    """Calls for `key` rose to `count` in the window; `usual` is the level expected then."""

    key: SpikeKey
    count: int
    usual: float


@dataclass(frozen=True)
class Subsided:
    """The spike for `key` is over: `count` calls in the window."""

    key: SpikeKey
    count: int
    usual: float


def alert_level(usual: float, policy: OutageAlertPolicy) -> float:
    """Calls in the window that raise an alert: `factor` times the usual, never below the
    floor (a quiet line does not alert on 3 calls)."""
    return max(float(policy.min_calls), policy.factor * usual)


def hour_spans(now_local: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """The same hour of the week as `now_local` (aware, the contact center's time zone) in
    each of the last `weeks` weeks, as (start, end). Wall-clock arithmetic: across a DST
    change the span is still the same local hour."""
    hour = now_local.replace(minute=0, second=0, microsecond=0)
    spans = []
    for week in range(1, weeks + 1):
        start = hour - timedelta(weeks=week)
        spans.append((start, start + timedelta(hours=1)))
    return spans


def usual_levels(history: Iterable[Seen], weeks: int, window: float) -> dict[SpikeKey, float]:
    """The usual calls per window for each key: the calls of the same hour of the week over
    `weeks` weeks (`history`), averaged per week and scaled from an hour to the window."""
    counts: dict[SpikeKey, int] = {}
    for key, _ in history:
        counts[key] = counts.get(key, 0) + 1
    scale = window / HOUR / max(weeks, 1)
    return {key: n * scale for key, n in counts.items()}


class SpikeDetector:
    """Which keys are in a spike now. `check` is given the calls of (at least) the last
    window and the usual levels; it returns a Spike when a key crosses its alert level and a
    Subsided when a key in a spike falls below `clear_ratio` of it. Nothing repeats while a
    spike lasts."""

    def __init__(self) -> None:
        self._active: set[SpikeKey] = set()

    @property
    def active(self) -> frozenset[SpikeKey]:
        return frozenset(self._active)

    def restore(self, keys: Iterable[SpikeKey]) -> None:
        """The spikes still on (e.g. from the alerts table after a restart or a takeover)."""
        self._active = set(keys)

    def check(
        self,
        now: datetime,
        calls: Iterable[Seen],
        usual: Mapping[SpikeKey, float],
        policy: OutageAlertPolicy,
    ) -> list[Spike | Subsided]:
        since = now - timedelta(seconds=policy.window)
        counts: dict[SpikeKey, int] = {}
        for key, at in calls:  # one stamped ahead of `now` (another engine's clock) counts
            if at > since:
                counts[key] = counts.get(key, 0) + 1
        changes: list[Spike | Subsided] = []
        for key in sorted(set(counts) | self._active):
            count, level = counts.get(key, 0), usual.get(key, 0.0)
            threshold = alert_level(level, policy)
            if key not in self._active and count >= threshold:
                self._active.add(key)
                changes.append(Spike(key, count, level))
            elif key in self._active and count < threshold * policy.clear_ratio:
                self._active.discard(key)
                changes.append(Subsided(key, count, level))
        return changes


def first_choice(path: Iterable[str], menus: Iterable[str]) -> str:
    """The first menu choice of a menu path ("hours:1>menu:2>..." -> "menu:2"): the first
    step whose node is one of the line's flow's `menus` (a condition's case is no choice)."""
    menu_nodes = set(menus)
    for step in path:
        node, _, _ = step.partition(":")
        if node in menu_nodes:
            return step
    return ""

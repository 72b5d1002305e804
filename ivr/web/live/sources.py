"""Where the live board reads the floor (who waits, who talks, the agents): this engine's
monitors for the Asterisk whose live actions it owns, the rows the owners share through
the database (ivr.ha.live) for every other one: the board is the union over the Asterisks.

A row older than the reader's `stale_after` is left out (its owner died or lost the
database): `status()` says so, per Asterisk, with the owner and the data's age.
"""

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ivr.ha.live import LiveReader
from ivr.monitors.agents import AgentSnapshot
from ivr.monitors.live_json import LiveFloor
from ivr.monitors.talk import TalkingCall
from ivr.monitors.waiting import WaitingCaller


@dataclass(frozen=True)
class LocalFloor:
    """One Asterisk this engine works with: its monitors, read while it acts on it."""

    asterisk: str
    engine: str
    acting: Callable[[], bool]
    waiting: Callable[[], Iterable[WaitingCaller]]
    talking: Callable[[], Iterable[TalkingCall]]
    agents: Callable[[], Iterable[AgentSnapshot]]


class LiveSources:
    def __init__(self, local: Sequence[LocalFloor], *, shared: LiveReader[LiveFloor]) -> None:
        self._local = tuple(local)
        self._reader = shared

    def _acting(self) -> list[LocalFloor]:
        return [site for site in self._local if site.acting()]

    def _shared(self, acting: Collection[str]) -> list[LiveFloor]:
        """The fresh rows of the Asterisks this engine does not act on."""
        stale_after = self._reader.stale_after
        return [
            row.floor
            for row in self._reader.shared()
            if row.fresh(stale_after) and row.asterisk not in acting
        ]

    def _floors(self) -> tuple[list[LocalFloor], list[LiveFloor]]:
        acting = self._acting()
        return acting, self._shared({site.asterisk for site in acting})

    def waiting(self) -> list[WaitingCaller]:
        local, shared = self._floors()
        return [c for s in local for c in s.waiting()] + [c for f in shared for c in f.waiting]

    def talking(self) -> list[TalkingCall]:
        local, shared = self._floors()
        return [t for s in local for t in s.talking()] + [t for f in shared for t in f.talking]

    def agents(self) -> list[AgentSnapshot]:
        local, shared = self._floors()
        return [a for s in local for a in s.agents()] + [a for f in shared for a in f.agents]

    def status(self) -> list[dict[str, Any]]:
        """Per Asterisk: where its live data comes from ("local": this engine acts on it;
        "shared": its owner's row; "stale": a row too old to show; "none": no row yet), who
        owns it and how old the data is (s)."""
        out: dict[str, dict[str, Any]] = {}
        for site in self._acting():
            out[site.asterisk] = _status(site.asterisk, "local", site.engine, 0.0)
        stale_after = self._reader.stale_after
        for row in self._reader.shared():
            if row.asterisk not in out:
                source = "shared" if row.fresh(stale_after) else "stale"
                out[row.asterisk] = _status(row.asterisk, source, row.engine, row.age)
        for site in self._local:
            if site.asterisk not in out:
                out[site.asterisk] = _status(site.asterisk, "none", None, None)
        return [out[name] for name in sorted(out)]


def _status(asterisk: str, source: str, owner: str | None, age: float | None) -> dict[str, Any]:
    return {
        "asterisk": asterisk,
        "source": source,
        "owner": owner,
        "age": None if age is None else round(age, 3),
    }

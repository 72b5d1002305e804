"""Where the live board reads the floor (who waits, who talks, the agents): this engine's
monitors for the Asterisk whose live actions it owns, the rows the owners share through
the database (ivr.ha.live) for every other one. Today one Asterisk: the owner shows its
monitors, a standby the owner's row; with several Asterisks the board is the union.

A row older than the reader's `stale_after` is left out (its owner died or lost the
database): `status()` says so, per Asterisk, with the owner and the data's age.
"""

from collections.abc import Callable, Iterable
from typing import Any

from ivr.ha.live import LiveReader
from ivr.monitors.agents import AgentSnapshot
from ivr.monitors.live_json import LiveFloor
from ivr.monitors.talk import TalkingCall
from ivr.monitors.waiting import WaitingCaller


class LiveSources:
    def __init__(
        self,
        asterisk: str,
        engine: str,
        acting: Callable[[], bool],
        *,
        waiting: Callable[[], Iterable[WaitingCaller]],  # this engine's monitors
        talking: Callable[[], Iterable[TalkingCall]],
        agents: Callable[[], Iterable[AgentSnapshot]],
        shared: LiveReader[LiveFloor],
    ) -> None:
        self.asterisk = asterisk
        self.engine = engine
        self._acting = acting
        self._waiting = waiting
        self._talking = talking
        self._agents = agents
        self._reader = shared

    def _shared(self) -> list[LiveFloor]:
        """The fresh rows of the Asterisks this engine does not act on."""
        acting = self._acting()
        stale_after = self._reader.stale_after
        return [
            row.floor
            for row in self._reader.shared()
            if row.fresh(stale_after) and not (acting and row.asterisk == self.asterisk)
        ]

    def waiting(self) -> list[WaitingCaller]:
        local = list(self._waiting()) if self._acting() else []
        return local + [c for floor in self._shared() for c in floor.waiting]

    def talking(self) -> list[TalkingCall]:
        local = list(self._talking()) if self._acting() else []
        return local + [t for floor in self._shared() for t in floor.talking]

    def agents(self) -> list[AgentSnapshot]:
        local = list(self._agents()) if self._acting() else []
        return local + [a for floor in self._shared() for a in floor.agents]

    def status(self) -> list[dict[str, Any]]:
        """Per Asterisk: where its live data comes from ("local": this engine acts on it;
        "shared": its owner's row; "stale": a row too old to show; "none": no row yet), who
        owns it and how old the data is (s)."""
        out: dict[str, dict[str, Any]] = {}
        if self._acting():
            out[self.asterisk] = _status(self.asterisk, "local", self.engine, 0.0)
        stale_after = self._reader.stale_after
        for row in self._reader.shared():
            if row.asterisk not in out:
                source = "shared" if row.fresh(stale_after) else "stale"
                out[row.asterisk] = _status(row.asterisk, source, row.engine, row.age)
        if self.asterisk not in out:
            out[self.asterisk] = _status(self.asterisk, "none", None, None)
        return [out[name] for name in sorted(out)]


def _status(asterisk: str, source: str, owner: str | None, age: float | None) -> dict[str, Any]:
    return {
        "asterisk": asterisk,
        "source": source,
        "owner": owner,
        "age": None if age is None else round(age, 3),
    }

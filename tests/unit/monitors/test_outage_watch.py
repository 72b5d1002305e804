"""The engine's outage watch on the fake clock, with the shipped flows and an in-memory
store: the acting owner alerts once per spike with the prefilled message in the line's
language, marks its end, counts the usual level from past weeks, re-reads the spikes
still on when it starts acting, and a standby counts nothing."""

import asyncio
from datetime import datetime, timedelta

import pytest

from ivr.config import PROJECT_ROOT
from ivr.events.model import Event, OutageSubsided, OutageSuspected
from ivr.flow.loader import load_library
from ivr.flow.model import FlowLibrary
from ivr.monitors.outage_watch import OutageWatch, prefilled, spike_key
from ivr.outages.detector import SpikeKey
from ivr.queues.model import OutageAlertPolicy
from ivr.storage.models import OutageAlertRecord
from ivr.storage.outage_alerts import AlertView, JournalCall
from tests.fake_clock import FakeClock, settle

POLICY = OutageAlertPolicy(window=600, min_calls=5, check_interval=30)
KYIV_SUPPORT = SpikeKey("Kyiv", "5551000", "menu:2")


class Store:
    """OutageAlertStore's part the watch uses, in memory."""

    def __init__(self) -> None:
        self.calls: list[JournalCall] = []
        self.added: list[OutageAlertRecord] = []
        self.subsided: list[tuple[str, str, str]] = []
        self.spikes: list[tuple[str, str, str]] = []

    def add(self, record: OutageAlertRecord) -> AlertView:
        self.added.append(record)
        self.spikes.append((record.city, record.line, record.choice))
        return AlertView(
            len(self.added),
            record.raised_at,
            record.city,
            record.line,
            record.choice,
            record.calls,
            record.usual,
            record.window,
            record.message,
            record.language,
            "open",
            None,
            None,
            None,
            None,
        )

    def subside(self, city: str, line: str, choice: str, at: datetime) -> int:
        self.subsided.append((city, line, choice))
        self.spikes.remove((city, line, choice))
        return 1

    def in_spike(self) -> list[tuple[str, str, str]]:
        return list(self.spikes)

    def calls_between(self, since: datetime, until: datetime) -> list[JournalCall]:
        return [c for c in self.calls if since <= c.started_at < until]


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(PROJECT_ROOT / "flows")


class Rig:
    def __init__(self, library: FlowLibrary, acting: bool = True) -> None:
        self.clock, self.store, self.events = FakeClock(), Store(), list[Event]()
        self.acting = acting
        self.watch = OutageWatch(
            self.store,  # type: ignore[arg-type]
            lambda: POLICY,
            lambda: library,
            self.events.append,
            self.clock,
            lambda: self.acting,
            run=_run,
        )

    def ring(
        self,
        count: int,
        path: str = "hours:1>menu:2>support:support",
        line: str = "5551000",
        city: str | None = None,
        at: datetime | None = None,
    ) -> None:
        when = at or self.clock.wall()
        self.store.calls += [JournalCall(line, path, city, when)] * count


async def _run(call, *args):  # type: ignore[no-untyped-def]
    return call(*args)


async def test_a_burst_alerts_once_with_the_prefilled_message_then_subsides(
    library: FlowLibrary,
) -> None:
    rig = Rig(library)
    rig.ring(4)
    await rig.watch.check(POLICY)
    assert rig.events == []  # under the floor of 5
    rig.ring(1)
    await rig.watch.check(POLICY)
    [suspected] = rig.events
    assert isinstance(suspected, OutageSuspected)
    assert (suspected.city, suspected.line, suspected.choice, suspected.calls) == (
        "Kyiv",
        "5551000",
        "menu:2",
        5,
    )
    assert suspected.message == "масові звернення, фахівці вже перевіряють мережу"
    assert rig.store.added[0].language == "uk"
    rig.ring(10)
    await rig.watch.check(POLICY)
    assert len(rig.events) == 1  # the same spike
    await rig.clock.advance(601)
    await rig.watch.check(POLICY)
    assert rig.events[1:] == [OutageSubsided("Kyiv", "5551000", "menu:2", 0, at=rig.clock.wall())]
    assert rig.store.subsided == [("Kyiv", "5551000", "menu:2")]


async def test_the_usual_level_of_past_weeks_raises_the_bar(library: FlowLibrary) -> None:
    rig = Rig(library)
    for week in (1, 2, 3, 4):  # 18 calls an hour at this hour: 3 per 10 minutes
        rig.ring(18, at=rig.clock.wall() - timedelta(weeks=week))
    rig.ring(8)
    await rig.watch.check(POLICY)
    assert rig.events == []  # 8 < 3 x 3
    rig.ring(1)
    await rig.watch.check(POLICY)
    [suspected] = rig.events
    assert isinstance(suspected, OutageSuspected) and suspected.usual == pytest.approx(3.0)


async def test_a_standby_counts_nothing_and_an_owner_resumes_the_spikes_on(
    library: FlowLibrary,
) -> None:
    rig = Rig(library, acting=False)
    rig.store.spikes.append(("Kyiv", "5551000", "menu:2"))  # raised by the last owner
    rig.ring(20)
    task = asyncio.get_running_loop().create_task(rig.watch.run())
    await rig.clock.advance(31)
    assert rig.events == [] and rig.store.added == []
    rig.acting = True
    await rig.clock.advance(30)
    assert rig.events == [] and rig.store.added == []  # known spike: no second alert
    assert rig.watch.detector.active == {KYIV_SUPPORT}
    task.cancel()
    await settle()


async def test_an_alert_the_database_refused_is_raised_on_the_next_pass(
    library: FlowLibrary,
) -> None:
    rig = Rig(library)
    store_add, failures = rig.store.add, [RuntimeError("database unavailable")]

    def add(record: OutageAlertRecord) -> AlertView:
        if failures:
            raise failures.pop()
        return store_add(record)

    rig.store.add = add  # type: ignore[method-assign]
    rig.ring(6)
    task = asyncio.get_running_loop().create_task(rig.watch.run())
    await rig.clock.advance(0)
    assert rig.events == [] and rig.store.added == []  # refused: nothing announced
    await rig.clock.advance(30)
    assert [type(e) for e in rig.events] == [OutageSuspected] and len(rig.store.added) == 1
    task.cancel()
    await settle()


def test_keys_take_the_subscribers_city_and_the_first_menu_choice(library: FlowLibrary) -> None:
    def key(path: str, line: str = "5551000", city: str | None = None) -> SpikeKey:
        return spike_key(JournalCall(line, path, city, datetime.now()), library)

    assert key("hours:1>menu:2>support:support>service_menu:1") == KYIV_SUPPORT
    assert key("hours:1>menu:2", city="Lviv") == SpikeKey("Lviv", "5551000", "menu:2")
    assert key("hours:1>menu:1", line="5553000") == SpikeKey("Lviv", "5553000", "menu:1")
    assert key("hours:else>after_hours:closed") == SpikeKey("Kyiv", "5551000", "")


def test_the_message_is_in_the_lines_language(library: FlowLibrary) -> None:
    ru_lines = [n for n, line in library.lines.items() if line.language == "ru"]
    assert ru_lines, "the shipped lines have a Russian-speaking one"
    message, language = prefilled(
        SpikeKey("Odesa", ru_lines[0], "menu:2"), library, "outage_suspected_message"
    )
    assert (message, language) == ("массовые обращения, специалисты уже проверяют сеть", "ru")
    fallback, _ = prefilled(KYIV_SUPPORT, library, "no_such_prompt")
    assert fallback == "many calls from Kyiv on line 5551000 (menu:2)"

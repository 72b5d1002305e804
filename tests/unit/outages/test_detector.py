"""The mass-outage detector, pure, on the fake clock: a sliding window per (city, line,
first menu choice) against the usual level for that hour of the week, a floor for quiet
lines, one alert per spike and its end when calls subside."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.outages.detector import (
    Seen,
    Spike,
    SpikeDetector,
    SpikeKey,
    Subsided,
    alert_level,
    first_choice,
    hour_spans,
    usual_levels,
)
from ivr.queues.model import OutageAlertPolicy
from tests.fake_clock import FakeClock

POLICY = OutageAlertPolicy(window=600, factor=3, min_calls=10, clear_ratio=0.5)
KYIV = SpikeKey("Kyiv", "5551000", "menu:2")
LVIV = SpikeKey("Lviv", "5553000", "menu:2")


class Calls:
    """Calls arriving on the fake clock, checked as the engine does every 30 s."""

    def __init__(self, usual: dict[SpikeKey, float] | None = None) -> None:
        self.clock = FakeClock()
        self.seen: list[Seen] = []
        self.detector = SpikeDetector()
        self.usual = usual or {}

    async def ring(self, key: SpikeKey, count: int, every: float) -> None:
        for _ in range(count):
            self.seen.append((key, self.clock.wall()))
            await self.clock.advance(every)

    def check(self) -> list[Spike | Subsided]:
        return self.detector.check(self.clock.wall(), self.seen, self.usual, POLICY)


async def test_a_burst_over_the_floor_raises_one_alert_per_spike() -> None:
    calls = Calls()
    await calls.ring(KYIV, 9, every=10)
    assert calls.check() == []  # 9 calls in 10 minutes: under the floor of 10
    await calls.ring(KYIV, 1, every=10)
    assert calls.check() == [Spike(KYIV, 10, 0.0)]
    await calls.ring(KYIV, 20, every=5)
    assert calls.check() == []  # still the same spike: no second alert
    assert calls.detector.active == {KYIV}


async def test_the_spike_clears_when_the_window_slides_past_it_and_can_come_again() -> None:
    calls = Calls()
    await calls.ring(KYIV, 12, every=1)
    assert calls.check() == [Spike(KYIV, 12, 0.0)]
    await calls.clock.advance(300)
    assert calls.check() == []  # all 12 still within the last 10 minutes
    await calls.clock.advance(300)
    assert calls.check() == [Subsided(KYIV, 0, 0.0)]
    assert calls.check() == []
    await calls.ring(KYIV, 10, every=1)
    assert calls.check() == [Spike(KYIV, 10, 0.0)]  # a new spike, a new alert


async def test_hysteresis_holds_the_alert_between_half_and_the_full_level() -> None:
    calls = Calls()
    await calls.ring(KYIV, 10, every=1)
    assert calls.check() == [Spike(KYIV, 10, 0.0)]
    await calls.clock.advance(600 - 10 + 1)  # the first call left the window...
    await calls.ring(KYIV, 0, every=0)
    assert calls.check() == []  # ...8 in the window: under 10 but not under 5
    await calls.clock.advance(4)
    assert calls.check() == [Subsided(KYIV, 4, 0.0)]


async def test_the_usual_level_for_the_hour_raises_the_bar() -> None:
    calls = Calls(usual={KYIV: 8.0})  # a busy line: 8 calls per 10 minutes at this hour
    await calls.ring(KYIV, 23, every=1)
    assert calls.check() == []  # 23 < 3 x 8
    await calls.ring(KYIV, 1, every=1)
    assert calls.check() == [Spike(KYIV, 24, 8.0)]
    assert alert_level(8.0, POLICY) == 24 and alert_level(1.0, POLICY) == 10


async def test_keys_are_counted_apart() -> None:
    calls = Calls()
    await calls.ring(KYIV, 6, every=1)
    await calls.ring(LVIV, 6, every=1)
    await calls.ring(SpikeKey("Kyiv", "5551000", "menu:1"), 6, every=1)
    assert calls.check() == []  # 18 calls, but no key has 10
    await calls.ring(LVIV, 4, every=1)
    assert calls.check() == [Spike(LVIV, 10, 0.0)]


async def test_a_restored_spike_is_not_alerted_again_and_still_clears() -> None:
    calls = Calls()
    calls.detector.restore([KYIV])  # the alerts table after a restart
    await calls.ring(KYIV, 15, every=1)
    assert calls.check() == []
    await calls.clock.advance(700)
    assert calls.check() == [Subsided(KYIV, 0, 0.0)]


def test_the_usual_level_is_the_weekly_mean_of_the_hour_scaled_to_the_window() -> None:
    at = datetime(2026, 11, 30, 9, 15, tzinfo=ZoneInfo("UTC"))
    history = [(KYIV, at)] * 48 + [(LVIV, at)] * 6  # 4 weeks of that hour
    usual = usual_levels(history, weeks=4, window=600)
    assert usual == {KYIV: 2.0, LVIV: 0.25}  # 12 an hour -> 2 per 10 minutes


def test_the_same_local_hour_each_week_across_a_dst_change() -> None:
    kyiv = ZoneInfo("Europe/Kyiv")
    now = datetime(2026, 11, 2, 9, 40, tzinfo=kyiv)  # a week after the autumn change
    spans = hour_spans(now, 2)
    assert [s.isoformat() for s, _ in spans] == [
        "2026-10-26T09:00:00+02:00",
        "2026-10-19T09:00:00+03:00",  # summer time: the same 09:00 on the wall
    ]
    assert all(end - start == timedelta(hours=1) for start, end in spans)


def test_the_first_choice_is_the_first_step_of_a_menu_node() -> None:
    path = ("hours:1", "menu:2", "support:support", "service_menu:1")
    assert first_choice(path, {"menu", "service_menu"}) == "menu:2"
    assert first_choice(("hours:1", "menu:timeout"), {"menu"}) == "menu:timeout"
    assert first_choice(("hours:else", "after_hours:closed"), {"menu"}) == ""

"""ScreenPop: the agent's card from CallRouted + CallAnswered, the subscriber looked up in a
real SQLite directory (by the menu's id, else by the caller's phone), the end of the call,
and bounded memory."""

import asyncio
import dataclasses
import logging
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import (
    AgentChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallFinishedInMenu,
    CallRouted,
)
from ivr.storage.directory import StoreDirectory
from ivr.subscribers import Subscriber
from ivr.tasks import TaskSet
from ivr.web.screen_pop import ScreenPop
from tests.unit.web.kit import LINE, library

ANSWERED_AT = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
PHONE = "0671112233"
OLENA_CARD = {
    "id": 1,
    "contract": "100200",
    "full_name": "Olena Koval",
    "address": "Kyiv, Khreshchatyk 1",
    "city": "Kyiv",
    "region_office": "Kyiv centre",
    "phones": ["0671112233"],
}


@pytest.fixture
def directory(sessions: sessionmaker[Session]) -> StoreDirectory:
    directory = StoreDirectory(sessions)
    olena = directory.add_subscriber(
        "100200", "Olena Koval", "Kyiv, Khreshchatyk 1", "Kyiv", "Kyiv centre", [PHONE]
    )
    assert olena.id == 1
    directory.add_subscriber("300400", "Petro Bilyk", "Lviv, Rynok 2", "Lviv", "Lviv", [])
    return directory


@pytest.fixture
def pop(directory: StoreDirectory, tasks: TaskSet) -> ScreenPop:
    return ScreenPop(directory, lambda: library().lines, tasks)


def routed(call_id: str, caller: str = PHONE, subscriber_id: int | None = None) -> CallRouted:
    return CallRouted(
        call_id,
        LINE,
        caller,
        "internet",
        "vip",
        10,
        ("main:1", "internet:2"),
        subscriber_id=subscriber_id,
    )


def answered(call_id: str, agent: str = "1001") -> CallAnswered:
    return CallAnswered(call_id, "internet", agent, "Local/1001@a-1", 4.5, True, ANSWERED_AT)


async def shown(pop: ScreenPop, agent: str, call_id: str) -> dict[str, object]:
    """The agent's card once the look-up has shown it."""
    for _ in range(300):
        card = pop.card(agent)
        if card is not None and card["call_id"] == call_id:
            return card
        await asyncio.sleep(0.01)
    raise AssertionError(f"no card for {call_id} at {agent}")


def card(call_id: str, subscriber: object, caller: str = PHONE) -> dict[str, object]:
    return {
        "call_id": call_id,
        "line": LINE,
        "line_city": "Kyiv",
        "line_sphere": "service",
        "caller": caller,
        "queue": "internet",
        "caller_class": "vip",
        "menu_path": ["main:1", "internet:2"],
        "answered_at": "2025-03-10T10:00:00+00:00",
        "wait": 4.5,
        "ended": False,
        "subscriber": subscriber,
    }


async def test_a_subscriber_identified_by_the_menu_is_read_by_id(pop: ScreenPop) -> None:
    pop(routed("c1", caller="0990000000", subscriber_id=1))  # called from another phone
    pop(answered("c1"))
    assert await shown(pop, "1001", "c1") == card("c1", OLENA_CARD, caller="0990000000")


async def test_an_unidentified_caller_is_looked_up_by_phone(pop: ScreenPop) -> None:
    pop(routed("c1"))
    pop(answered("c1"))
    assert await shown(pop, "1001", "c1") == card("c1", OLENA_CARD)


async def test_an_unknown_caller_has_no_subscriber(pop: ScreenPop) -> None:
    pop(routed("c1", caller="0501234567"))
    pop(answered("c1"))
    assert await shown(pop, "1001", "c1") == card("c1", None, caller="0501234567")


async def test_a_call_the_menu_never_routed_still_pops(pop: ScreenPop) -> None:
    pop(answered("cb"))  # e.g. a callback: no CallRouted
    assert await shown(pop, "1001", "cb") == {
        "call_id": "cb",
        "line": "",
        "line_city": "",
        "line_sphere": "",
        "caller": "",
        "queue": "internet",
        "caller_class": "",
        "menu_path": [],
        "answered_at": "2025-03-10T10:00:00+00:00",
        "wait": 4.5,
        "ended": False,
        "subscriber": None,
    }


@pytest.mark.parametrize("end", [CallCompleted("c1", "internet", "1001", 60.0, "caller"),
                                 CallEnded("c1", "16")])  # fmt: skip
async def test_the_end_of_the_call_marks_the_card_ended_and_keeps_it(
    pop: ScreenPop, end: CallCompleted | CallEnded
) -> None:
    pop(routed("c1"))
    pop(answered("c1"))
    await shown(pop, "1001", "c1")
    with pop.watch("1001") as changed:
        pop(end)
        assert changed.is_set()
    assert pop.card("1001") == {**card("c1", OLENA_CARD), "ended": True}
    assert pop.remembered == 0
    pop(CallCompleted("c1", "internet", "1001", 60.0, "caller"))  # both come: no harm
    assert pop.card("1001") == {**card("c1", OLENA_CARD), "ended": True}


async def test_the_next_call_replaces_the_card(pop: ScreenPop) -> None:
    pop(routed("c1"))
    pop(answered("c1"))
    await shown(pop, "1001", "c1")
    pop(CallEnded("c1", "16"))
    pop(routed("c2", caller="0501234567"))
    pop(answered("c2"))
    assert await shown(pop, "1001", "c2") == card("c2", None, caller="0501234567")
    assert pop.card("1002") is None


async def test_a_call_that_ends_during_the_look_up_pops_ended(
    directory: StoreDirectory, tasks: TaskSet
) -> None:
    class Slow:
        def find_by_id(self, subscriber_id: int) -> Subscriber | None:
            return directory.find_by_id(subscriber_id)

        def find_by_phone(self, phone: str) -> Subscriber | None:
            time.sleep(0.2)
            return directory.find_by_phone(phone)

    pop = ScreenPop(Slow(), lambda: library().lines, tasks)
    pop(routed("c1"))
    pop(answered("c1"))
    pop(CallEnded("c1", "16"))
    assert pop.card("1001") is None  # still looking
    assert await shown(pop, "1001", "c1") == {**card("c1", OLENA_CARD), "ended": True}


async def test_a_failing_look_up_pops_without_the_subscriber(
    tasks: TaskSet, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def find_by_id(self, subscriber_id: int) -> Subscriber | None:
            raise RuntimeError("database is locked")

        def find_by_phone(self, phone: str) -> Subscriber | None:
            raise RuntimeError("database is locked")

    pop = ScreenPop(Broken(), lambda: library().lines, tasks)
    pop(routed("c1", subscriber_id=1))
    pop(answered("c1"))
    with caplog.at_level(logging.WARNING, "ivr.web.screen_pop"):
        assert await shown(pop, "1001", "c1") == card("c1", None)
    assert "screen pop for call c1: subscriber not found: RuntimeError" in caplog.text


async def test_refresh_reads_the_subscriber_again(
    pop: ScreenPop, directory: StoreDirectory
) -> None:
    pop(routed("c1", caller="0501234567"))
    pop(answered("c1"))
    assert (await shown(pop, "1001", "c1"))["subscriber"] is None
    directory.reconcile_phones(2, add=["0501234567"])  # the agent filed the new number
    with pop.watch("1001") as changed:
        refreshed = await pop.refresh("1001")
        assert changed.is_set()
    assert refreshed is not None and refreshed["subscriber"] == {
        "id": 2,
        "contract": "300400",
        "full_name": "Petro Bilyk",
        "address": "Lviv, Rynok 2",
        "city": "Lviv",
        "region_office": "Lviv",
        "phones": ["0501234567"],
    }
    assert await pop.refresh("1002") is None


async def test_an_edited_account_is_read_again_on_the_cards_showing_it(
    pop: ScreenPop, directory: StoreDirectory
) -> None:
    pop(routed("c1", subscriber_id=1))
    pop(answered("c1"))
    assert (await shown(pop, "1001", "c1"))["subscriber"] == OLENA_CARD
    directory.reconcile_phones(1, add=["0501112233"], remove=[PHONE])
    pop.subscriber_changed(2)  # another account: nothing to read
    pop.subscriber_changed(1)
    for _ in range(300):
        subscriber = (pop.card("1001") or {}).get("subscriber")
        if isinstance(subscriber, dict) and subscriber["phones"] == ["0501112233"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the card still shows {pop.card('1001')}")


async def test_a_non_target_caller_gets_no_subscriber_card(pop: ScreenPop) -> None:
    pop(dataclasses.replace(routed("c1", subscriber_id=1), caller_class="non_target"))
    pop(answered("c1"))
    shown_card = await shown(pop, "1001", "c1")
    assert shown_card["caller_class"] == "non_target" and shown_card["subscriber"] is None


async def test_an_unknown_caller_is_found_once_an_account_gets_his_number(
    pop: ScreenPop, directory: StoreDirectory
) -> None:
    pop(routed("c1", caller="0501234567"))
    pop(answered("c1"))
    assert (await shown(pop, "1001", "c1"))["subscriber"] is None
    directory.reconcile_phones(2, add=["0501234567"])
    pop.subscriber_changed(2)
    for _ in range(300):
        subscriber = (pop.card("1001") or {}).get("subscriber")
        if isinstance(subscriber, dict) and subscriber["id"] == 2:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the card still shows {pop.card('1001')}")


async def test_watchers_wake_on_the_agents_own_changes_only(pop: ScreenPop) -> None:
    with pop.watch("1001") as mine, pop.watch("1002") as theirs:
        assert pop.watchers == 2
        pop(AgentChanged("1001", "internet", "paused", "lunch"))
        assert mine.is_set() and not theirs.is_set()
        mine.clear()
        pop(routed("c1"))
        pop(answered("c1"))
        await shown(pop, "1001", "c1")
        assert mine.is_set() and not theirs.is_set()
    assert pop.watchers == 0


async def test_memory_is_bounded_and_ended_calls_are_forgotten(
    directory: StoreDirectory, tasks: TaskSet
) -> None:
    pop = ScreenPop(directory, lambda: library().lines, tasks, remember=3)
    for n in range(10):
        pop(routed(f"r{n}"))
    assert pop.remembered == 3
    pop(answered("r9"))  # the newest routed calls are the ones kept
    assert (await shown(pop, "1001", "r9"))["menu_path"] == ["main:1", "internet:2"]
    pop(answered("r0", agent="1002"))  # forgotten: popped without the menu's data
    assert (await shown(pop, "1002", "r0"))["menu_path"] == []
    for end in (
        CallAbandoned("r7", "internet", 30.0),
        CallFinishedInMenu("r8", LINE, PHONE, ()),
        CallCompleted("r9", "internet", "1001", 60.0, "agent"),
        CallEnded("r0", "16"),
    ):
        pop(end)
    assert pop.remembered == 0

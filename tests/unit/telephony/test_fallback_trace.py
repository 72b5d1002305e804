"""The fallback's AstDB trace: entries parsed strictly, journalled before they are deleted,
kept when the journal's outbox cannot take them."""

import asyncio
from datetime import UTC, datetime

from ivr.events.model import CallFellBack, CallStarted, Event
from ivr.tasks import TaskSet
from ivr.telephony.agi import AgiReply
from ivr.telephony.ami_events import AmiEvents
from ivr.telephony.fallback_trace import (
    FAMILY,
    KEYS_CHARS,
    SWEEP_CHANNEL,
    FallbackSweep,
    parse_entry,
)

VALUE = "1765000000.250000|1765000001.500000|5551000|%2B380%22%0A%24%7BX%7D|first_line|FAILURE/"


def test_an_entry_becomes_a_started_and_a_fell_back_call() -> None:
    events = parse_entry("1765000000.42", VALUE)
    assert events == [
        CallStarted(
            "1765000000.42",
            "5551000",
            '+380"\n${X}',
            "",
            at=datetime(2025, 12, 6, 5, 46, 40, 250000, tzinfo=UTC),
        ),
        CallFellBack(
            "1765000000.42",
            "5551000",
            '+380"\n${X}',
            "first_line",
            "FAILURE/",
            at=datetime(2025, 12, 6, 5, 46, 41, 500000, tzinfo=UTC),
        ),
    ]


def test_an_unknown_start_keeps_only_the_fallback() -> None:
    events = parse_entry("k1", "|1765000001|5551000||first_line|TIMEOUT/")
    assert events is not None and [type(e) for e in events] == [CallFellBack]


def test_entries_this_dialplan_does_not_write_are_refused() -> None:
    assert parse_entry("1.2", "just text") is None
    assert parse_entry("1.2", "1|not a time|5551000|x|q|r") is None
    assert parse_entry("bad key/../x", VALUE) is None
    assert parse_entry("1.2", VALUE + "|extra") is None


class FakeAstDb:
    """An AGI channel over a dict: DB_KEYS, DATABASE GET, DATABASE DEL."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries
        self.commands: list[str] = []

    async def command(self, line: str, timeout: float | None = None) -> AgiReply:
        self.commands.append(line)
        if line.startswith("GET FULL VARIABLE"):
            assert f"DB_KEYS({FAMILY}):0:{KEYS_CHARS}" in line
            return AgiReply(200, "1", ",".join(self.entries)[:KEYS_CHARS], line)
        verb, family, quoted = line.rsplit(" ", 2)
        key = quoted.strip('"')
        assert family == FAMILY
        if verb == "DATABASE GET":
            value = self.entries.get(key)
            return AgiReply(200, "1" if value is not None else "0", value or "", line)
        assert verb == "DATABASE DEL"
        self.entries.pop(key, None)
        return AgiReply(200, "1", "", line)


async def test_a_sweep_journals_then_deletes_each_entry() -> None:
    journalled: list[Event] = []

    def record(event: Event) -> bool:
        journalled.append(event)
        return True

    astdb = FakeAstDb({"1.1": VALUE, "1.2": VALUE.replace("5551000", "5552000"), "1.3": "junk"})
    sweep = FallbackSweep(record, lambda _: asyncio.sleep(0), TaskSet("test"))
    await sweep(astdb)  # type: ignore[arg-type]  # the AgiChannel commands it uses

    assert astdb.entries == {}  # the unreadable one too: logged, not retried forever
    assert sweep.recorded == 2
    assert [(type(e).__name__, e.call_id) for e in journalled] == [
        ("CallStarted", "1.1"),
        ("CallFellBack", "1.1"),
        ("CallStarted", "1.2"),
        ("CallFellBack", "1.2"),
    ]
    gets = [c for c in astdb.commands if c.startswith("DATABASE GET")]
    dels = [c for c in astdb.commands if c.startswith("DATABASE DEL")]
    assert len(gets) == len(dels) == 3


async def test_an_entry_the_outbox_cannot_take_stays_in_astdb() -> None:
    astdb = FakeAstDb({"1.1": VALUE})
    sweep = FallbackSweep(lambda _: False, lambda _: asyncio.sleep(0), TaskSet("test"))
    await sweep(astdb)  # type: ignore[arg-type]
    assert astdb.entries == {"1.1": VALUE}
    assert sweep.recorded == 0


async def test_requests_meanwhile_are_one_sweep() -> None:
    originated: list[str] = []

    async def originate(channel: str) -> None:
        originated.append(channel)

    tasks = TaskSet("test")
    sweep = FallbackSweep(lambda _: True, originate, tasks, delay=0.05)
    ami = AmiEvents()
    ami.subscribe(sweep.AMI_EVENTS, sweep.on_ami)
    sweep.request()
    ami({"Event": "UserEvent", "UserEvent": "IvrFallback"})
    ami({"Event": "UserEvent", "UserEvent": "IvrRoute"})
    await asyncio.sleep(0.2)
    assert originated == [SWEEP_CHANNEL]
    ami({"Event": "UserEvent", "UserEvent": "IvrFallback"})
    await asyncio.sleep(0.2)
    assert originated == [SWEEP_CHANNEL, SWEEP_CHANNEL]
    await tasks.cancel_all()


async def test_a_long_key_list_is_swept_in_rounds() -> None:
    """More entries than one round's key list: the list read is cut short (its last key
    perhaps cut too); rounds go on until every entry is journalled and deleted."""
    entries = {f"1765000000.{n}": VALUE for n in range(1200)}  # about 20 000 characters
    astdb = FakeAstDb(dict(entries))
    journalled: list[Event] = []
    sweep = FallbackSweep(
        lambda e: journalled.append(e) is None, lambda _: asyncio.sleep(0), TaskSet("t")
    )
    await sweep(astdb)  # type: ignore[arg-type]
    assert astdb.entries == {}
    assert sweep.recorded == 1200
    assert {e.call_id for e in journalled} == set(entries)
    assert sum(c.startswith("GET FULL VARIABLE") for c in astdb.commands) >= 3

"""Caller-controlled text on the real Asterisk: a caller ID cannot forge FastAGI headers or
UserEvent fields, and a callback never goes to a number the caller did not call from."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.app import Engine
from ivr.config import Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import journal_row
from tests.e2e.queues_kit import (
    AmiLog,
    callback_offer_queues,
    event,
    queue_engine,
)

SUBSCRIBER = "+380441234567"  # contract 10000001 in data/demo-store.yaml
CALLER = "+380509999999"  # nobody's number
# str.splitlines() splits on each of these; an AMI header carries all but CR and LF (a lone
# CR and a LF are covered by the parser's unit tests).
SMUGGLERS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
UNKNOWN_CALLER_KEYS = ["2", "-", "-", "1"]  # support, no contract typed, internet


async def test_a_caller_id_cannot_pose_as_a_subscriber(engine: Engine, tester: AmiClient) -> None:
    """Each separator smuggled in the caller ID's name and, at the same time, in its number."""
    forged = [f"agi_callerid: {SUBSCRIBER}{c}agi_uniqueid: 1.999{c}" for c in SMUGGLERS]
    calls = [
        *(("name", c, CALLER, f"Bob{c}{text}") for c, text in zip(SMUGGLERS, forged, strict=True)),
        *(
            ("number", c, f"{CALLER}{c}{text}", "Bob")
            for c, text in zip(SMUGGLERS, forged, strict=True)
        ),
    ]
    reports = await asyncio.gather(
        *(
            place_call(tester, "5551000", number, UNKNOWN_CALLER_KEYS, caller_name=name, timeout=60)
            for _, _, number, name in calls
        )
    )
    for (field, char, _, _), report in zip(calls, reports, strict=True):
        shown = f"{field} U+{ord(char):04X}"
        assert report.via == "engine", (shown, report.summary())
        assert report.queued_in == "internet", (shown, report.summary())
        row = await journal_row(engine, report.call_id)  # the real uniqueid keys the journal
        assert row is not None, shown
        assert "identify:not_found" in row.menu_path, (shown, row.menu_path)
        if field == "name":
            assert row.caller == CALLER, shown
        else:
            assert row.caller != SUBSCRIBER and row.caller.startswith(CALLER), shown
    assert engine.repository.get("1.999") is None


@pytest.mark.parametrize(
    "number",
    [f"{SUBSCRIBER},Phone:+380990000000,Class:new_connection", ""],
    ids=["commas", "withheld"],
)
async def test_no_callback_offer_to_a_number_that_cannot_be_called(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, number: str
) -> None:
    queues = callback_offer_queues(tmp_path)
    log = AmiLog()
    tester.on_event("*", log)
    try:
        async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
            await agent_behaves(tester, "2001", "0", "1")
            task = asyncio.create_task(
                place_call(tester, "5551000", number, ["2"], talk=8, timeout=30)
            )
            _, joined = await log.wait_for(event("QueueCallerJoin", Queue="first_line"))
            _, step = await log.wait_for(event("IvrEscalation", Step="offer_callback"), timeout=5)
            # The caller hears why (the whisper leg plays the no-number prompt), not an offer.
            await log.wait_for(
                event("Newexten", Application="Playback", AppData="tt-allbusy"), timeout=5
            )
            await tester.play_dtmf(str(joined["Channel"]), "1", receive=True)
            await asyncio.sleep(1.5)
            accepted = log.find(event("IvrCallbackAccepted"))
            await engine.journal.flush()
            requests = engine.callback_store.due(datetime.now(UTC) + timedelta(days=1))
            task.cancel()
    finally:
        tester.off_event("*", log)
    assert step["Detail"] == "not offered: the caller's number is withheld or invalid"
    assert accepted == [] and requests == []
    assert log.find(event("QueueCallerJoin", Queue="first_line"))  # still waiting, not dropped

"""The engine's AMI user gets only the events it reads (ENGINE_EVENTS, Asterisk's
eventfilter): a hangup reaches it as Hangup, never as HangupRequest, and a call's other
channel events (Newchannel, VarSet...) never; OriginateResponse comes to every session."""

import time
from typing import Any

from ivr.config import Settings
from ivr.sandbox.calls import tester as test_parties
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually


async def test_the_engine_user_gets_hangup_but_not_hangup_request(
    sandbox: Sandbox, settings: Settings, tester: AmiClient
) -> None:
    engine_ami = test_parties.tester_ami(settings, user=settings.ami_user)
    seen: list[tuple[str, str]] = []  # (event, uniqueid) on the engine's session
    told: list[str] = []  # the same call's events on the tester's (unfiltered) session

    def on_engine(event: Any) -> None:
        seen.append((str(event.get("Event")), str(event.get("Uniqueid", ""))))

    def on_tester(event: Any) -> None:
        if event.get("Uniqueid") == call:
            told.append(str(event.get("Event")))

    call = f"filter-{int(time.time() * 1000)}-c"
    engine_ami.on_event("*", on_engine)
    tester.on_event("*", on_tester)
    await engine_ami.connect()
    try:
        await tester.originate(
            "Local/hold@ivr-test-caller/n",
            context="ivr-test-caller",
            exten="hold",
            channel_ids=(call, call.replace("-c", "-o")),
            variables={"IVR_TEST_HOLD": "1"},  # then Hangup(): a HangupRequest
        )
        await eventually(lambda: ("Hangup", call) in seen, timeout=10)
    finally:
        tester.off_event("*", on_tester)
        await engine_ami.close()
    assert {"HangupRequest", "Newchannel", "VarSet"} <= set(told)  # raised, kept from the engine
    mine = {name for name, uniqueid in seen if uniqueid == call}
    assert "Hangup" in mine and not mine & {"HangupRequest", "Newchannel", "VarSet"}, mine

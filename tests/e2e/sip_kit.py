"""Agents on real SIP phones, for the SIP e2e tests: queues.yaml entries with a PJSIP
interface, SIPp carrier callers who talk (a tone) and press 1 in the menu when told."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ivr.calls.presser import key_command
from ivr.telephony.ami import AmiClient
from tests.e2e.queues_kit import AmiLog
from tests.sip.audio import tone
from tests.sip.carrier import ASTERISK_SIP, CARRIER_IP
from tests.sip.sipp import Sipp, scenario

CHANNEL = "PJSIP/provider-"  # a carrier caller's channel
CALLER_HZ = 300.0  # what a caller says (a tone)


def sip_agent(agent_id: str, *queues: str) -> dict[str, Any]:
    return {
        "name": f"Agent {agent_id}",
        "interface": f"PJSIP/{agent_id}",
        "skills": {queue: 0 for queue in queues},
    }


@contextmanager
def sip_caller(directory: Path, port: int, media_port: int) -> Iterator[Sipp]:
    """A carrier caller to 5551000 (queue test flows: key 1 -> first_line) who talks (a
    300 Hz tone) from the answer on and presses 1 on the NOTIFY the test sends."""
    speech = tone(CALLER_HZ, 60.0, level_db=-30.0)
    script = scenario(
        "caller", directory, hold=60.0, caller_id=f"38044{port}", keys_on_notify=["1"],
        speech=speech,
    )  # fmt: skip
    with Sipp(
        script, target=ASTERISK_SIP, service="5551000", local_ip=CARRIER_IP, local_port=port,
        media_port=media_port, timeout=75.0,
    ) as sipp:  # fmt: skip
        yield sipp


def in_menu(e: Mapping[str, Any]) -> bool:
    return (
        e.get("Event") == "AGIExecStart"
        and str(e.get("Channel", "")).startswith(CHANNEL)
        and key_command(str(e.get("Command", ""))) is not None
    )


async def press_one(tester: AmiClient, log: AmiLog, known: set[str]) -> str:
    """The next caller's channel once its menu waits for a key, after telling it to press 1."""
    _, asked = await log.wait_for(lambda e: in_menu(e) and e["Channel"] not in known, 20)
    channel = str(asked["Channel"])
    reply = await tester.send(
        {"Action": "PJSIPNotify", "Channel": channel, "Variable": "Event=ivr-press"}
    )
    assert "Success" in str(reply), reply
    return channel

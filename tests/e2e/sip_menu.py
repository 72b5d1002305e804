"""SIP callers keying through the engine's menu: SIPp as the carrier on trunk `provider`
(PCMU), one RFC 4733 key group each time the menu's GET DATA waits for keys (the test sends
the caller a NOTIFY, and SIPp plays the next group); agents on real SIP phones (a PJSIP
interface) and a caller who talks to them."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.sandbox.calls.presser import key_command
from ivr.sandbox.calls.sip.audio import tone
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT, press_next_key
from ivr.sandbox.calls.sip.sipp import Sipp, SippResult, scenario
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.telephony.call_port import SILENT_PROMPT
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import AmiLog, hang_up_everything

CHANNEL = "PJSIP/provider-"  # a carrier caller's channel
CALLER_HZ = 300.0  # what sip_caller says (a tone)


@dataclass
class SipMenuCalls:
    """What the carrier's calls did: per channel, the key groups asked for, the IvrRoute
    and when it joined a queue; the NOTIFY replies and SIPp's result."""

    asked: dict[str, int] = field(default_factory=dict)
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    joined: dict[str, float] = field(default_factory=dict)
    replies: list[Any] = field(default_factory=list)
    result: SippResult | None = None


async def sip_callers_through_the_menu(
    sandbox: Sandbox, tester: AmiClient, directory: Path, callers: int, keys: list[str],
    line: str = "5551000", caller_id: str = "380441234567", local_port: int = 5060,
    media_port: int = MEDIA_PORT, target: str = ASTERISK_SIP, carrier_ip: str = CARRIER_IP,
) -> SipMenuCalls:  # fmt: skip
    """`callers` SIPp calls from `carrier_ip` to `line` at `target` (host:port of Asterisk's
    SIP) at once, each keying `keys` group by group; returns once every caller joined a
    queue (then Asterisk hangs them up)."""
    async with sip_callers_in_queue(
        sandbox, tester, directory, callers, keys, line, caller_id, local_port, media_port,
        target=target, carrier_ip=carrier_ip,
    ) as calls:  # fmt: skip
        pass
    return calls


@asynccontextmanager
async def sip_callers_in_queue(
    sandbox: Sandbox, tester: AmiClient, directory: Path, callers: int, keys: list[str],
    line: str = "5551000", caller_id: str = "380441234567", local_port: int = 5060,
    media_port: int = MEDIA_PORT, hold: float = 90.0, target: str = ASTERISK_SIP,
    carrier_ip: str = CARRIER_IP,
) -> AsyncIterator[SipMenuCalls]:  # fmt: skip
    """`callers` SIPp calls from `carrier_ip` to `line` at `target` at once, each keying
    `keys` group by group; the block runs once every caller joined a queue, where they wait
    (up to `hold` s); then Asterisk hangs them up."""
    calls = SipMenuCalls()
    notifies: list[asyncio.Task[Any]] = []

    def on_event(event: Any) -> None:
        channel = str(event.get("Channel", ""))
        if not channel.startswith(CHANNEL):
            return
        name = event.get("Event")
        if name == "AGIExecStart":
            wanted = key_command(str(event.get("Command", "")))
            if wanted and wanted.get_data and wanted.prompt != SILENT_PROMPT:
                calls.asked[channel] = calls.asked.get(channel, 0) + 1
                notifies.append(asyncio.ensure_future(press_next_key(tester, channel)))
        elif name == "UserEvent" and event.get("UserEvent") == "IvrRoute":
            calls.routes[channel] = dict(event)
        elif name == "QueueCallerJoin":
            calls.joined.setdefault(channel, time.time())

    caller = scenario("caller", directory, hold=hold, caller_id=caller_id, keys_on_notify=keys)
    tester.on_event("*", on_event)
    try:
        with Sipp(
            caller, target=target, service=line, local_ip=carrier_ip, local_port=local_port,
            media_port=media_port, calls=callers, rate=callers, timeout=hold + 10.0,
        ) as sipp:  # fmt: skip
            await eventually(lambda: len(calls.joined) >= callers, timeout=80)
            yield calls
            await hang_up_everything(sandbox)
            calls.result = await asyncio.to_thread(sipp.wait, 30)
    finally:
        tester.off_event("*", on_event)
    calls.replies = list(await asyncio.gather(*notifies))


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
    reply = await press_next_key(tester, channel)
    assert "Success" in str(reply), reply
    return channel

"""The sandbox's test carrier: SIPp on 127.0.0.2 delivering one call to a DID over the trunk
`provider` of telephony.yaml (identified by that source address, so it never mixes with
phones registering from 127.0.0.1), pressing one key (RFC 4733) when told to.

The test tells it through Asterisk itself: AMI PJSIPNotify on the call's channel sends an
in-dialog NOTIFY, on which the scenario plays SIPp's pcap of that key.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

from panoramisk.message import Message

from ivr.telephony.ami import AmiClient

SCENARIO = Path(__file__).parent / "scenarios" / "carrier_menu_call.xml"
REFUSED = Path(__file__).parent / "scenarios" / "carrier_refused_call.xml"
REGISTER = Path(__file__).parent / "scenarios" / "phone_register.xml"
PHONE_IP, PHONE_PORT = "127.0.0.1", 5070  # a phone registering (not the carrier's address)
CARRIER_IP = "127.0.0.2"  # telephony.yaml trunks.provider.match
ASTERISK_SIP = "127.0.0.1:5060"  # telephony.yaml transports.udp.bind
DTMF_PCAPS = Path("/usr/share/sip-tester")  # RFC 4733 pcaps of Debian's sip-tester
MEDIA_PORT = 16000  # the carrier's RTP port (in its SDP)


async def press_next_key(ami: AmiClient, channel: str) -> Message:
    """Tell the carrier's caller on `channel` to press its next key: an in-dialog NOTIFY
    (AMI PJSIPNotify, event ivr-press), on which the caller scenario plays it."""
    reply = await ami.send(
        {"Action": "PJSIPNotify", "Channel": channel, "Variable": "Event=ivr-press"}
    )
    return reply[0] if isinstance(reply, list) else reply


class SipToolMissing(RuntimeError):
    """A SIP test tool is not installed: the test fails with this message, never skips."""


def require(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise SipToolMissing(
            f"{tool} is not installed (Debian: {package}); run scripts/system-deps.sh"
        )
    return found


def key_pcap(key: str) -> Path:
    name = {"*": "star", "#": "pound"}.get(key, key)
    path = DTMF_PCAPS / f"dtmf_2833_{name}.pcap"
    if not path.exists():
        raise SipToolMissing(f"{path} is missing: install sip-tester (scripts/system-deps.sh)")
    return path


def write_scenario(workdir: Path, caller: str, key: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    text = SCENARIO.read_text(encoding="iso-8859-1")
    scenario = workdir / SCENARIO.name
    scenario.write_text(
        text.replace("{caller}", caller).replace("{key_pcap}", str(key_pcap(key))),
        encoding="iso-8859-1",
    )
    return scenario


@dataclass
class CarrierCall:
    """One SIPp run (one call); `finish` waits for it and returns its exit code (0: the call
    went as scripted and Asterisk hung up)."""

    process: asyncio.subprocess.Process
    workdir: Path

    async def finish(self, timeout: float) -> int:
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        return self.process.returncode if self.process.returncode is not None else -1

    def errors(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.workdir.glob("*.log"))


def _argv(sipp: str, scenario: Path, did: str, workdir: Path, timeout: int) -> list[str]:
    return [
        sipp, ASTERISK_SIP, "-sf", str(scenario), "-s", did,
        "-i", CARRIER_IP, "-p", "5060", "-mi", CARRIER_IP, "-mp", str(MEDIA_PORT),
        "-m", "1", "-timeout", f"{timeout}s", "-timeout_error", "-max_retrans", "3",
        "-trace_err", "-error_file", str(workdir / "sipp_errors.log"),
        "-nostdin",
    ]  # fmt: skip


async def _start(argv: list[str], workdir: Path) -> CarrierCall:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(workdir / "sipp_stderr.log").open("wb"),
    )
    return CarrierCall(process, workdir)


async def carrier_refused_call(did: str, workdir: Path, *, timeout: int = 15) -> CarrierCall:
    """Start SIPp: one INVITE to `did` that must be refused with 404."""
    sipp = require("sipp", "sip-tester")
    return await _start(_argv(sipp, REFUSED, did, workdir, timeout), workdir)


async def carrier_call(
    did: str, caller: str, key: str, workdir: Path, *, timeout: int = 40
) -> CarrierCall:
    """Start SIPp: one INVITE to `did` from `caller`, pressing `key` on the NOTIFY."""
    sipp = require("sipp", "sip-tester")
    scenario = write_scenario(workdir, caller, key)
    return await _start(_argv(sipp, scenario, did, workdir, timeout), workdir)


async def phone_register(
    phone: str, password: str, workdir: Path, *, timeout: int = 15
) -> CarrierCall:
    """Start SIPp as phone `phone`: register with digest auth, hold 1.5 s, unregister."""
    sipp = require("sipp", "sip-tester")
    argv = [
        sipp, ASTERISK_SIP, "-sf", str(REGISTER), "-s", phone, "-au", phone, "-ap", password,
        "-i", PHONE_IP, "-p", str(PHONE_PORT), "-m", "1", "-timeout", f"{timeout}s",
        "-timeout_error", "-max_retrans", "3", "-trace_err",
        "-error_file", str(workdir / "sipp_errors.log"), "-nostdin",
    ]  # fmt: skip
    return await _start(argv, workdir)

"""A supervisor on a live SIP call, through the API: a carrier caller (SIPp on trunk
`provider`, sending tone A) talks to agent 2001 (a sandbox Local agent); the supervisor's
baresip phone 9001 (telephony.yaml, its generated password) auto-answers and sends tone C.

- listen: his phone receives the caller's tone A; the caller receives nothing of tone C;
- barge: the caller receives tone C.
Judged from the RTP each side received (tcpdump on loopback); every use is in the
supervision log and announced as the AMI UserEvent IvrSupervisorMonitor."""

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from ivr.config import Settings
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import TOKEN, AmiLog, agent, event, fast_queues, queue_engine
from tests.sip.audio import Samples, dominant_frequency, tone, tone_spans
from tests.sip.baresip import Phone, free_port
from tests.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT, require
from tests.sip.plan import MediaPlan, Press
from tests.sip.rtp import Capture, received
from tests.sip.sipp import Sipp, scenario

RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports (Asterisk's side of every stream)
TONE_A, TONE_C = 700.0, 1700.0  # the caller's, the supervisor's
SPY_SECONDS = 3.0
API = "http://127.0.0.1:18080"  # queue_engine's http_port


def seconds_of(audio: Samples, frequency: float) -> float:
    return sum(s.end - s.start for s in tone_spans(audio, frequency))


async def monitor(call_id: str, mode: str, phone: str = "9001") -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{API}/api/calls/{call_id}/monitor",
            json={"mode": mode, "phone": phone},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response,
    ):
        return response.status, await response.json()


async def spy(phone: Phone, call_id: str, mode: str) -> tuple[float, float, dict[str, Any]]:
    """Ring the supervisor into the call in `mode`; (answered, hung up) wall-clock times and
    the phone's CALL_INCOMING event."""
    before = phone.count("CALL_ESTABLISHED")
    status, body = await monitor(call_id, mode)
    assert status == 202, body
    assert body["monitor"]["mode"] == mode and body["monitor"]["by"] == "supervisor", body
    await eventually(lambda: phone.count("CALL_ESTABLISHED") > before, timeout=10)
    incoming = [e for e in phone.events if e.get("type") == "CALL_INCOMING"][-1]
    answered = time.time()
    await asyncio.sleep(SPY_SECONDS)
    hung_up = time.time()
    phone.hangup()
    await eventually(lambda: not phone.calls("established"), timeout=5)
    return answered, hung_up, incoming


def window(audio: Samples, origin: float, start: float, end: float) -> Samples:
    """The part of `audio` (a timeline from `origin`) between two wall-clock times, less
    half a second at each end (media starts and stops)."""
    return audio[max(round((start - origin + 0.5) * 8000), 0) : round((end - origin - 0.5) * 8000)]


async def test_supervisor_listens_without_being_heard_then_barges_in(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")})
    log = AmiLog()
    tester.on_event("*", log)
    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        await engine.agents.login("2001")
        with Phone(
            tmp_path / "supervisor", "9001", sip_port=free_port(),
            password=sandbox.secret("phone-9001"), answer_after=0.3,
            audio=tone(TONE_C, 60.0), audio_seconds=60.0,
        ) as phone:  # fmt: skip
            phone.registered()
            # the caller sends tone A, pressing 1 (new connection) until the menu takes it
            presses = tuple(Press("1", at) for at in (1.0, 2.5, 4.0, 5.5))
            plan = MediaPlan(audio=tone(TONE_A, 40.0), presses=presses)
            caller = scenario("caller", tmp_path / "sipp", plan=plan, hold=45.0)
            with (
                Capture(tmp_path / "call.pcap", RTP_PORTS, max_seconds=60) as capture,
                Sipp(
                    caller, target=ASTERISK_SIP, service="5551000", local_ip=CARRIER_IP,
                    local_port=5060, media_port=MEDIA_PORT, timeout=50.0,
                ) as sipp,
            ):  # fmt: skip
                await eventually(lambda: engine.talk.talking(), timeout=20)
                [talk] = engine.talk.talking()
                listened = await spy(phone, talk.call_id, "listen")
                barged = await spy(phone, talk.call_id, "barge")
                await asyncio.to_thread(sandbox.cli, "channel request hangup all")
                result = await asyncio.to_thread(sipp.wait, 20)
            uses = engine.supervision_log.recent(talk.call_id)
    tester.off_event("*", log)
    result.check(1)

    streams = capture.streams()
    origin = min(s.start for s in streams)
    to_caller = received(streams, (CARRIER_IP, MEDIA_PORT), start=origin)
    to_phone = received(streams, phone.is_media, start=origin)
    heard = {}
    for mode, (start, end, _) in (("listen", listened), ("barge", barged)):
        supervisor, caller_side = (
            window(to_phone, origin, start, end),
            window(to_caller, origin, start, end),
        )
        heard[mode] = (
            seconds_of(supervisor, TONE_A),
            dominant_frequency(supervisor) if len(supervisor) > 1 else 0.0,
            seconds_of(caller_side, TONE_C),
        )
    print(
        f"\nsupervisor on call {talk.call_id} (agent {talk.agent_channel}), "
        f"{SPY_SECONDS - 1:.0f} s judged per mode: "
        + "; ".join(
            f"{mode}: phone hears tone A {a:.2f} s (dominant {f:.0f} Hz), "
            f"caller hears tone C {c:.2f} s"
            for mode, (a, f, c) in heard.items()
        )
    )
    judged = SPY_SECONDS - 1.0
    assert heard["listen"][0] >= 0.8 * judged, heard  # he hears the caller...
    assert abs(heard["listen"][1] - TONE_A) < 20, heard
    assert heard["listen"][2] == 0.0, heard  # ...and the caller does not hear him
    assert heard["barge"][2] >= 0.8 * judged, heard  # barge: the caller hears him
    assert heard["barge"][0] >= 0.8 * judged, heard

    # his phone told him which call it was
    name = str(listened[2].get("peerdisplayname", ""))
    assert name == f"listen 2001 call {talk.call_id}", listened[2]
    # every use logged (who, when, which call) and announced to admins
    assert [(u.mode, u.by, u.phone, u.agent) for u in uses] == [
        ("barge", "supervisor", "9001", "2001"),
        ("listen", "supervisor", "9001", "2001"),
    ]
    announced = log.find(event("IvrSupervisorMonitor", CallID=talk.call_id))
    assert [e["Mode"] for _, e in announced] == ["listen", "barge"], announced

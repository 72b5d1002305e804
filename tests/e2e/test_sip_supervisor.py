"""A supervisor on a live SIP call, through the API and the dashboard: a carrier caller
(SIPp on trunk `provider`, sending tone A) talks to agent 2001 (a sandbox Local agent
sending tone B); the supervisor's baresip phone 9001 (telephony.yaml, its generated
password) auto-answers and sends tone C.

- listen (API): his phone receives both sides (tones A and B); the caller receives the
  agent's tone B and no tone C;
- barge (API): the caller receives tone C with tone B;
- whisper (the dashboard's button, signed in with his token and phone): the caller
  receives tone B and no tone C (only the agent hears him).
A second test puts agent 1001 on a baresip phone (PJSIP/1001): his phone receives tone C
while the supervisor whispers and not while he listens; the caller never does.
Judged from the RTP each side received (tcpdump on loopback); every use is in the
supervision log and announced as the AMI UserEvent IvrSupervisorMonitor."""

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from playwright.async_api import Page, expect

from ivr.config import Settings
from ivr.sandbox.calls.sip.audio import RATE, Samples, dbfs, read_wav, tone, tone_spans
from ivr.sandbox.calls.sip.baresip import Phone, free_port
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP, MEDIA_PORT, require
from ivr.sandbox.calls.sip.plan import MediaPlan, Press
from ivr.sandbox.calls.sip.rtp import Capture, received
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.web.tokens import hash_token
from tests.e2e.browser import WALL, chromium, new_page, screenshot
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import TOKEN, AmiLog, agent, event, fast_queues, queue_engine
from tests.e2e.sip_menu import CALLER_HZ, press_one, sip_agent, sip_caller

RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports (Asterisk's side of every stream)
TONE_A, TONE_B, TONE_C = 700.0, 400.0, 1700.0  # the caller's, the agent's, the supervisor's
TALKING_AGENT = "ivr-test-agent-tone"  # dialplans/sandbox/ivr-test.conf: sends 400 Hz
SPY_SECONDS = 3.0
API = "http://127.0.0.1:18080"  # queue_engine's http_port
BY = f"supervisor sha256:{hash_token(TOKEN)[:8]}"  # who asked, as logged


PRESENT_DB, ABSENT_DB = -30.0, -45.0  # a tone's level (dBFS) heard / not heard


def level_of(audio: Samples, frequency: float, bandwidth: float = 25.0) -> float:
    """The level (dBFS) of what `audio` holds within `bandwidth` Hz of `frequency`: each
    tone is measured on its own, however loud the others mixed with it are."""
    if len(audio) < RATE:
        return -200.0
    power = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    share = np.sum(power[np.abs(freqs - frequency) < bandwidth]) / max(np.sum(power), 1e-30)
    return float(10 * np.log10(max(share, 1e-20))) + dbfs(audio)


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


async def by_api(call_id: str, mode: str) -> None:
    status, body = await monitor(call_id, mode)
    assert status == 202, body
    assert body["monitor"]["mode"] == mode and body["monitor"]["by"] == BY, body


async def by_button(page: Page, call_id: str, mode: str) -> None:
    row = page.locator(f"[data-testid=talking-row][data-call-id='{call_id}']")
    await row.get_by_test_id(f"spy-{mode}").click()
    await expect(page.get_by_test_id("spy-status")).to_contain_text("your phone 9001 rings")


async def spy(
    phone: Phone, ask: Awaitable[None], meanwhile: Awaitable[Any] | None = None
) -> tuple[float, float, dict[str, Any], Any]:
    """Ring the supervisor into the call (`ask`), run `meanwhile` while he is in it; the
    (answered, hung up) wall-clock times, the phone's CALL_INCOMING event and what
    `meanwhile` gave."""
    before = phone.count("CALL_ESTABLISHED")
    await ask
    await eventually(lambda: phone.count("CALL_ESTABLISHED") > before, timeout=10)
    incoming = [e for e in phone.events if e.get("type") == "CALL_INCOMING"][-1]
    answered = time.time()
    meant = None if meanwhile is None else await meanwhile
    await asyncio.sleep(max(answered + SPY_SECONDS - time.time(), 0))
    hung_up = time.time()
    phone.hangup()
    await eventually(lambda: not phone.calls("established"), timeout=5)
    return answered, hung_up, incoming, meant


def window(audio: Samples, origin: float, start: float, end: float) -> Samples:
    """The part of `audio` (a timeline from `origin`) between two wall-clock times, less
    half a second at each end (media starts and stops)."""
    return audio[max(round((start - origin + 0.5) * 8000), 0) : round((end - origin - 0.5) * 8000)]


async def test_supervisor_listens_without_being_heard_then_barges_in(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    talking_agent = {**agent("2001", "first_line"), "interface": f"Local/2001@{TALKING_AGENT}"}
    queues = fast_queues(tmp_path, agents={"2001": talking_agent})
    log = AmiLog()
    tester.on_event("*", log)
    errors: list[str] = []
    async with (
        chromium() as browser,
        new_page(browser, errors, WALL) as page,
        queue_engine(sandbox, settings, tmp_path, queues) as engine,
    ):
        await engine.agents.login("2001")
        await page.goto(f"{API}/dashboard")
        await page.get_by_test_id("spy-token").fill(TOKEN)
        await page.get_by_test_id("spy-phone").fill("9001")
        await page.get_by_test_id("spy-submit").click()
        await expect(page.get_by_test_id("spy-phone-shown")).to_have_text("9001")
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
                # his phone busy in the call: a second use is refused
                listened = await spy(
                    phone, by_api(talk.call_id, "listen"), monitor(talk.call_id, "barge")
                )
                barged = await spy(phone, by_api(talk.call_id, "barge"))
                refused = {
                    phone_id: await monitor(talk.call_id, "listen", phone_id)
                    for phone_id in ("1006", "8888")  # not registered; no such phone
                }
                row = page.locator(f"[data-testid=talking-row][data-call-id='{talk.call_id}']")
                await expect(row.locator("[data-field=agent]")).to_have_text("2001")
                await screenshot(page, tmp_path / "dashboard-supervise.png", "#talking-panel")
                whispered = await spy(phone, by_button(page, talk.call_id, "whisper"))
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
    modes = (("listen", listened), ("barge", barged), ("whisper", whispered))
    for mode, (start, end, *_) in modes:
        supervisor, caller_side = (
            window(to_phone, origin, start, end),
            window(to_caller, origin, start, end),
        )
        heard[mode] = (
            level_of(supervisor, TONE_A),
            level_of(supervisor, TONE_B),
            level_of(caller_side, TONE_B),
            level_of(caller_side, TONE_C),
        )
    print(
        f"\nsupervisor on call {talk.call_id} (agent {talk.agent_channel}), tone levels in "
        f"dBFS over {SPY_SECONDS - 1:.0f} s per mode: "
        + "; ".join(
            f"{mode}: supervisor hears caller {a:.1f}, agent {b:.1f}; "
            f"caller hears agent {cb:.1f}, supervisor {cc:.1f}"
            for mode, (a, b, cb, cc) in heard.items()
        )
    )
    for mode, (a, b, cb, cc) in heard.items():
        assert a > PRESENT_DB and b > PRESENT_DB, (mode, heard)  # he hears both sides
        assert cb > PRESENT_DB, (mode, heard)  # the agent's side reaches the caller...
        if mode == "barge":
            assert cc > PRESENT_DB, heard  # ...with the supervisor's voice
        else:
            assert cc < ABSENT_DB, (mode, heard)  # ...without it
    assert not errors, errors

    # what cannot be done is refused, as Asterisk sees the phones (DEVICE_STATE)
    busy, unavailable, unknown = listened[3], refused["1006"], refused["8888"]
    print(f"refused: {busy}, {unavailable}, {unknown}")
    assert busy[0] == 409 and "phone 9001: busy" in busy[1]["error"], busy
    assert unavailable[0] == 409 and "unavailable" in unavailable[1]["error"], unavailable
    assert unknown[0] == 404 and "no such phone" in unknown[1]["error"], unknown
    # his phone told him which call it was
    name = str(listened[2].get("peerdisplayname", ""))
    assert name == f"listen 2001 call {talk.call_id}", listened[2]
    # every use logged (who, when, which call) and announced to admins
    assert [(u.mode, u.by, u.phone, u.agent) for u in uses] == [
        ("whisper", BY, "9001", "2001"),
        ("barge", BY, "9001", "2001"),
        ("listen", BY, "9001", "2001"),
    ]
    announced = log.find(event("IvrSupervisorMonitor", CallID=talk.call_id))
    assert [e["Mode"] for _, e in announced] == ["listen", "barge", "whisper"], announced


# agent 1001's phone: a fixed SIP port (test_sip_agents uses 25170-25181) and its own RTP
# ports, apart from the supervisor's phone's (16100-16199)
AGENT_SIP, AGENT_RTP = 25190, (16300, 16399)


async def test_whisper_reaches_the_agents_phone_and_only_it(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    queues = fast_queues(tmp_path, agents={"1001": sip_agent("1001", "first_line")})
    log = AmiLog()
    tester.on_event("*", log)
    try:
        async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
            with (
                Phone(
                    tmp_path / "agent", "1001", sip_port=AGENT_SIP,
                    password=sandbox.secret("phone-1001"), answer_after=0.3,
                    audio=tone(TONE_B, 60.0, level_db=-20.0), audio_seconds=60.0,
                    rtp_ports=AGENT_RTP,
                ) as agent_phone,
                Phone(
                    tmp_path / "supervisor", "9001", sip_port=free_port(),
                    password=sandbox.secret("phone-9001"), answer_after=0.3,
                    audio=tone(TONE_C, 60.0), audio_seconds=60.0,
                ) as phone,
            ):  # fmt: skip
                await asyncio.to_thread(agent_phone.registered)
                await asyncio.to_thread(phone.registered)
                await engine.agents.login("1001")
                await eventually(lambda: engine.agents.get("1001").state == "ready", 5)
                with (
                    Capture(tmp_path / "call.pcap", RTP_PORTS, max_seconds=40) as capture,
                    sip_caller(tmp_path / "caller", 5060, MEDIA_PORT) as caller,
                ):
                    channel = await press_one(tester, log, set())
                    await eventually(lambda: engine.talk.talking(), timeout=15)
                    [talk] = engine.talk.talking()
                    listened = await spy(phone, by_api(talk.call_id, "listen"))
                    whispered = await spy(phone, by_api(talk.call_id, "whisper"))
                    await tester.hangup(channel)
                    await asyncio.to_thread(caller.wait, 15)
                uses = engine.supervision_log.recent(talk.call_id)
    finally:
        tester.off_event("*", log)

    streams = capture.streams()
    origin = min(s.start for s in streams)
    to_agent = received(streams, agent_phone.is_media, start=origin)
    to_caller = received(streams, (CARRIER_IP, MEDIA_PORT), start=origin)
    to_phone = received(streams, phone.is_media, start=origin)
    heard: dict[str, dict[str, float]] = {}
    for mode, (start, end, *_) in (("listen", listened), ("whisper", whispered)):
        agent_side = window(to_agent, origin, start, end)
        caller_side = window(to_caller, origin, start, end)
        supervisor = window(to_phone, origin, start, end)
        heard[mode] = {
            "agent<-supervisor": level_of(agent_side, TONE_C),
            "agent<-caller": level_of(agent_side, CALLER_HZ),
            "caller<-supervisor": level_of(caller_side, TONE_C),
            "caller<-agent": level_of(caller_side, TONE_B),
            "supervisor<-caller": level_of(supervisor, CALLER_HZ),
            "supervisor<-agent": level_of(supervisor, TONE_B),
        }
    # the agent phone's own recording (what it decoded): tone C only for the whisper's time
    [recording] = agent_phone.received_audio()
    recorded, _ = read_wav(recording)
    recorded_c = tone_spans(recorded, TONE_C, min_level_db=-45.0)
    recorded_seconds = sum(span.duration for span in recorded_c)
    print(
        f"\nagent {talk.agent_channel} on call {talk.call_id}, tone levels (dBFS) over"
        f" {SPY_SECONDS - 1:.0f} s per mode: "
        + "; ".join(
            f"{mode}: " + ", ".join(f"{k} {v:.1f}" for k, v in levels.items())
            for mode, levels in heard.items()
        )
        + f"; the agent's recording holds {TONE_C:.0f} Hz for {recorded_seconds:.2f} s in"
        f" {len(recorded_c)} span(s) ({[round(s.level_db, 1) for s in recorded_c]} dBFS)"
    )
    assert talk.agent == "1001" and talk.agent_channel.startswith("PJSIP/1001-"), talk
    for mode, levels in heard.items():
        # the call goes on both ways and he hears both sides...
        assert levels["agent<-caller"] > ABSENT_DB, (mode, heard)
        assert levels["caller<-agent"] > PRESENT_DB, (mode, heard)
        assert levels["supervisor<-caller"] > ABSENT_DB, (mode, heard)
        assert levels["supervisor<-agent"] > PRESENT_DB, (mode, heard)
        # ...the caller never hears him...
        assert levels["caller<-supervisor"] < ABSENT_DB, (mode, heard)
    # ...the agent does when he whispers, not when he listens
    assert heard["whisper"]["agent<-supervisor"] > PRESENT_DB, heard
    assert heard["listen"]["agent<-supervisor"] < ABSENT_DB, heard
    whisper_seconds = whispered[1] - whispered[0]
    assert whisper_seconds - 1.5 < recorded_seconds < whisper_seconds + 0.5, recorded_c
    assert [(u.mode, u.agent) for u in uses] == [("whisper", "1001"), ("listen", "1001")]

"""Agents on real SIP phones (queues.yaml interface PJSIP/<id>): baresip phones registered to
the sandbox with their generated passwords take queue calls from SIPp callers on the trunk.

app_queue reads the phone's own device state, so the board shows what the phone does
(ringing, in a call, unavailable when not registered), `ringinuse = no` keeps a busy agent
from being offered a second caller, and an unregistered phone is skipped: never rung, never
auto-paused. The talk-guideline beep is whispered to the agent's bridged channel: it is in
the audio the agent's phone received, at its time, and not in the caller's."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from ivr.app import Engine
from ivr.config import Settings
from ivr.sandbox.calls.sip.audio import Samples, dbfs, dominant_frequency, tone, tone_spans
from ivr.sandbox.calls.sip.baresip import Phone
from ivr.sandbox.calls.sip.carrier import CARRIER_IP, require
from ivr.sandbox.calls.sip.rtp import Address, Capture, RtpStream, received
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually
from tests.e2e.queues_kit import TOKEN, AmiLog, event, fast_queues, queue_engine
from tests.e2e.sip_menu import press_one, sip_agent, sip_caller

RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports (Asterisk's side of every stream)
# The whisper plays Asterisk's core sound `beep` (ivr.monitors.talk.BEEP, IVR_WHISPER_SOUND
# of [ivr-whisper]): beep.gsm, a 0.44 s tone at 700 Hz.
BEEP_HZ = 700.0
AGENT_HZ = 1200.0  # what the agent says (a tone, told apart from the beep)
WARNING, GUIDELINE = 2, 4  # talk_warning, talk_guideline (s)
WHISPER_DELAY = 0.2  # [ivr-whisper] waits this long before its Playback
ANSWER_AFTER = 1.5  # the agent's phone rings this long before it answers
# the agent's phone: a fixed port (baresip also binds the next one, for TLS; a free_port()
# could be right below another process's port)
PHONE_SIP = 25170  # and 25180 in the second test


class States:
    """Every state an agent went through, as the engine's board showed it (polled)."""

    def __init__(self, engine: Engine, agent_id: str) -> None:
        self.seen: list[str] = []
        self._read: Callable[[], str] = lambda: engine.agents.get(agent_id).state
        self._task = asyncio.ensure_future(self._poll())

    def _note(self) -> None:
        state = self._read()
        if not self.seen or self.seen[-1] != state:
            self.seen.append(state)

    async def _poll(self) -> None:
        for _ in range(6000):  # 20 ms steps: at most two minutes
            self._note()
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        self._task.cancel()
        self._note()


async def api_states(engine: Engine) -> dict[str, tuple[str, bool]]:
    """Each agent's (state, paused) from /api/agents, once the dashboard's snapshot agrees."""
    url = f"http://127.0.0.1:{engine.settings.http_port}/api/agents"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as reply:
            assert reply.status == 200, await reply.text()
            body = await reply.json()
    states = {a["id"]: (a["state"], a["paused"]) for a in body["agents"]}
    board = {a["id"]: a["state"] for a in engine.live.snapshot()["agents"]}  # type: ignore[index]
    assert board == {agent: state for agent, (state, _) in states.items()}, (board, states)
    return states


async def member(engine: Engine, name: str) -> dict[str, str]:
    status = await engine.queue_actions.status()
    found = [dict(m) for m in status if m.get("Event") == "QueueMember" and m.get("Name") == name]
    assert len(found) == 1, found
    return found[0]


async def test_sip_agent_rings_talks_is_not_offered_a_second_caller_and_hears_the_beep(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    queues = fast_queues(
        tmp_path,
        agents={"1003": sip_agent("1003", "first_line"), "1001": sip_agent("1001", "first_line")},
        ring_time=4,
        talk_warning=WARNING,
        talk_guideline=GUIDELINE,
    )  # linear: 1003 (never registered) is tried first, then 1001
    contacts = await asyncio.to_thread(sandbox.cli, "pjsip show contacts")
    assert "1003/sip:" not in contacts, contacts  # phone 1003 is not registered
    log = AmiLog()
    connects: list[tuple[float, dict[str, Any]]] = []  # (wall time, AgentConnect)

    def on_event(e: Any) -> None:
        log(e)
        if e.get("Event") == "AgentConnect":
            connects.append((time.time(), dict(e)))

    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        agent_audio = tone(AGENT_HZ, 90.0, level_db=-30.0)
        with Phone(
            tmp_path / "phone-1001", "1001", sip_port=PHONE_SIP,
            password=sandbox.secret("phone-1001"), answer_after=ANSWER_AFTER, audio=agent_audio,
            audio_seconds=90.0,
        ) as phone:  # fmt: skip
            await asyncio.to_thread(phone.registered)
            await engine.agents.login("1003")
            await engine.agents.login("1001")
            await eventually(lambda: engine.agents.get("1001").state == "ready", 5)
            await eventually(lambda: engine.agents.get("1003").state == "unavailable", 5)
            states = States(engine, "1001")
            tester.on_event("*", on_event)
            try:
                with (
                    Capture(tmp_path / "calls.pcap", RTP_PORTS, max_seconds=90) as capture,
                    sip_caller(tmp_path / "a", 5060, 16000) as first,
                ):
                    a = await press_one(tester, log, set())
                    await asyncio.to_thread(phone.wait_for, "CALL_INCOMING", 15)
                    await eventually(lambda: engine.agents.get("1001").state == "ringing", 2)
                    ringing_api = await api_states(engine)
                    await eventually(lambda: bool(connects), 10)
                    connected_at, connect = connects[0]
                    await eventually(lambda: engine.agents.get("1001").state == "in_call", 3)
                    in_call_api = await api_states(engine)

                    with sip_caller(tmp_path / "b", 5062, 16020) as second:
                        b = await press_one(tester, log, {a})
                        await log.wait_for(event("QueueCallerJoin", Channel=b), 10)
                        joined_b = time.time()
                        # B waits while the only ready agent talks; the call goes on past
                        # the guideline's beep
                        rest = max(connected_at + GUIDELINE + 2.0, joined_b + 3.0) - time.time()
                        await asyncio.sleep(max(rest, 0.0))
                        waiting = await engine.queue_actions.status()
                        incoming = phone.count("CALL_INCOMING")
                        busy_state = engine.agents.get("1001").state
                        await tester.hangup(b)
                        await asyncio.to_thread(second.wait, 15)
                    await tester.hangup(a)
                    await asyncio.to_thread(first.wait, 15)
                    await eventually(lambda: engine.agents.get("1001").state == "ready", 5)
                    after_api = await api_states(engine)
            finally:
                tester.off_event("*", on_event)
                states.stop()
            skipped = engine.agents.get("1003")
            unavailable = (skipped.state, skipped.paused)  # before the engine logs it out
            member_1003 = await member(engine, "1003")

    # --- the board: states from the phone itself ----------------------------------------
    print(f"\nagent 1001 states: {states.seen}; 1003 (state, paused): {unavailable}")
    print(f"/api/agents while ringing {ringing_api}, talking {in_call_api}, after {after_api}")
    assert states.seen[:4] == ["ready", "ringing", "in_call", "ready"], states.seen
    assert ringing_api["1001"] == ("ringing", False)
    assert in_call_api["1001"] == ("in_call", False)
    assert after_api["1001"] == ("ready", False)
    assert connect["Interface"] == "PJSIP/1001" and connect["Channel"] == a
    assert str(connect["DestChannel"]).startswith("PJSIP/1001-")

    # --- ringinuse = no: the busy agent is not offered caller B ---------------------------
    entries = [e for e in waiting if e.get("Event") == "QueueEntry"]
    assert [e["Channel"] for e in entries] == [b], entries  # B still waits
    assert busy_state == "in_call"
    assert incoming == 1, phone.events  # one INVITE: A's
    assert not log.find(event("AgentCalled", Channel=b)), log.find(event("AgentCalled"))

    # --- the unregistered phone: skipped, not rung, not paused, shown unavailable ---------
    assert not log.find(lambda e: "PJSIP/1003" in str(e.get("Interface", ""))
                        and e.get("Event") in ("AgentCalled", "AgentRingNoAnswer"))  # fmt: skip
    assert not log.find(lambda e: str(e.get("Channel", "")).startswith("PJSIP/1003-"))
    assert unavailable == ("unavailable", False)
    assert ringing_api["1003"] == in_call_api["1003"] == after_api["1003"] == ("unavailable", False)
    assert member_1003["Paused"] == "0" and member_1003["Status"] == "5", member_1003

    # --- the whisper: the beep in what the agent received, at its time, not the caller ------
    assert_beeps_reach_the_agent_only(capture, phone, connected_at, log)


def heard(streams: list[RtpStream], dst: Callable[[Address], bool]) -> tuple[Samples, float]:
    """What was sent to `dst`, on one timeline from its first packet (capture time)."""
    origin = min(s.start for s in streams if dst(s.dst))
    return received(streams, dst, start=origin), origin


def assert_beeps_reach_the_agent_only(
    capture: Capture, phone: Phone, connected_at: float, log: AmiLog
) -> None:
    """The warning and guideline beeps (700 Hz) are in what the agent's phone received, each
    at its time after the answer (`connected_at`, wall clock); the caller on CARRIER_IP:16000
    received the agent's voice all along and no beep."""
    streams = capture.streams()
    to_agent, agent_origin = heard(streams, phone.is_media)
    to_caller, caller_origin = heard(streams, lambda address: address == (CARRIER_IP, 16000))
    beeps = tone_spans(to_agent, BEEP_HZ)
    shift = agent_origin - connected_at  # agent's timeline to seconds after the answer
    limits = [e for _, e in log.find(event("IvrTalkLimit"))]
    found = []
    for span in beeps:
        piece = to_agent[round(span.start * 8000) : round(span.end * 8000)]
        found.append(
            (round(span.start + shift, 2), round(span.duration, 2),
             round(dominant_frequency(piece)), round(span.level_db, 1),
             round(span.above_rest_db, 1))
        )  # fmt: skip
    # what the caller received while talking to the agent, up to past the second beep
    first = round((connected_at - caller_origin) * 8000)
    talk = to_caller[first : first + round((GUIDELINE + 1.5) * 8000)]
    voice = tone_spans(talk, AGENT_HZ, min_level_db=-45.0)
    caller_beeps = tone_spans(talk, BEEP_HZ, min_level_db=-60.0, min_above_rest_db=6.0)
    print(
        f"agent received {BEEP_HZ:.0f} Hz (start s after the answer, s, Hz, dBFS, dB over the"
        f" rest): {found}; IvrTalkLimit {[e.get('Level') for e in limits]}"
    )
    print(
        f"caller received after the answer: {len(talk) / 8000:.1f} s, the agent's"
        f" {AGENT_HZ:.0f} Hz for {sum(s.duration for s in voice):.1f} s, {BEEP_HZ:.0f} Hz"
        f" spans: {caller_beeps}, level {dbfs(talk):.1f} dBFS"
    )
    assert [str(e.get("Level", "")) for e in limits] == ["warning", "guideline"], limits
    assert len(found) == 2, found
    for (start, seconds, hertz, _, _), mark in zip(found, (WARNING, GUIDELINE), strict=True):
        assert mark + WHISPER_DELAY - 0.3 <= start <= mark + WHISPER_DELAY + 1.0, found
        assert abs(hertz - BEEP_HZ) < 30, found
        assert 0.25 <= seconds <= 0.7, found
    assert len(talk) >= (GUIDELINE + 1.0) * 8000  # the caller's side covers both beeps
    assert sum(s.duration for s in voice) > GUIDELINE  # the caller hears the agent...
    assert not caller_beeps  # ...and never the beep


async def test_a_local_interface_with_the_phone_as_state_interface_rings_and_hears_the_beep(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    """Local/1001@ivr-agents (the dialplan dials the phone) with state_interface PJSIP/1001:
    app_queue reads the phone's state through it, and the beep still reaches the phone
    although Asterisk optimises the Local channel out of the bridge."""
    require("tcpdump", "tcpdump")
    local = {"interface": "Local/1001@ivr-agents", "state_interface": "PJSIP/1001"}
    queues = fast_queues(
        tmp_path,
        agents={"1001": sip_agent("1001", "first_line") | local},
        ring_time=4,
        talk_warning=WARNING,
        talk_guideline=GUIDELINE,
    )
    log = AmiLog()
    connects: list[tuple[float, dict[str, Any]]] = []

    def on_event(e: Any) -> None:
        log(e)
        if e.get("Event") == "AgentConnect":
            connects.append((time.time(), dict(e)))

    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        with Phone(
            tmp_path / "phone-1001", "1001", sip_port=PHONE_SIP + 10,
            password=sandbox.secret("phone-1001"), answer_after=ANSWER_AFTER,
            audio=tone(AGENT_HZ, 60.0, level_db=-30.0), audio_seconds=60.0,
        ) as phone:  # fmt: skip
            await asyncio.to_thread(phone.registered)
            await engine.agents.login("1001")
            await eventually(lambda: engine.agents.get("1001").state == "ready", 5)
            states = States(engine, "1001")
            tester.on_event("*", on_event)
            try:
                with (
                    Capture(tmp_path / "calls.pcap", RTP_PORTS, max_seconds=60) as capture,
                    sip_caller(tmp_path / "a", 5060, 16000) as caller,
                ):
                    a = await press_one(tester, log, set())
                    await eventually(lambda: bool(connects), 15)
                    connected_at, connect = connects[0]
                    await asyncio.sleep(max(connected_at + GUIDELINE + 1.6 - time.time(), 0.0))
                    await tester.hangup(a)
                    await asyncio.to_thread(caller.wait, 15)
                    await eventually(lambda: engine.agents.get("1001").state == "ready", 5)
            finally:
                tester.off_event("*", on_event)
                states.stop()
    print(f"\nLocal agent 1001 states: {states.seen}; AgentConnect to {connect['DestChannel']}")
    assert states.seen[:4] == ["ready", "ringing", "in_call", "ready"], states.seen
    assert str(connect["DestChannel"]).startswith("Local/1001@ivr-agents-")
    assert phone.count("CALL_INCOMING") == 1
    assert_beeps_reach_the_agent_only(capture, phone, connected_at, log)

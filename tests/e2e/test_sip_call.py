"""A real SIP call through the menu: SIPp as the carrier on trunk `provider` (telephony.yaml)
dials a DID with PCMU and RFC 4733 DTMF; the engine's menu hears the key and queues the
PJSIP channel in the right queue with the right priority; the prompts the caller received
(captured on loopback) are audible."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ivr.app import Engine
from ivr.config import PROJECT_ROOT
from ivr.sandbox.calls.presser import key_command
from ivr.sandbox.calls.sip.audio import Samples, active_spans, dbfs, read_wav
from ivr.sandbox.calls.sip.carrier import (
    CARRIER_IP,
    MEDIA_PORT,
    carrier_call,
    carrier_refused_call,
    phone_register,
    press_next_key,
    require,
)
from ivr.sandbox.calls.sip.rtp import Capture
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import journal_row
from tests.e2e.queues_kit import AmiLog, event, hang_up_everything

RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports


def _menu_waits(channel_prefix: str):  # type: ignore[no-untyped-def]
    def matches(e: object) -> bool:
        fields = dict(e)  # type: ignore[call-overload]
        return (
            fields.get("Event") == "AGIExecStart"
            and str(fields.get("Channel", "")).startswith(channel_prefix)
            and key_command(str(fields.get("Command", ""))) is not None
        )

    return matches


@dataclass
class SipCall:
    code: int
    errors: str
    channel: str
    route: dict[str, Any]
    waiting: list[dict[str, Any]]
    row: Any
    capture: Capture


async def menu_call(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path, did: str, caller: str
) -> SipCall:
    """A carrier call to `did` pressing 1 at the main menu, left waiting in its queue, then
    hung up by Asterisk; RTP captured meanwhile."""
    require("tcpdump", "tcpdump")
    await hang_up_everything(sandbox)
    log = AmiLog()
    tester.on_event("*", log)
    try:
        with Capture(tmp_path / "call.pcap", RTP_PORTS, max_seconds=60) as capture:
            call = await carrier_call(did, caller, "1", tmp_path / "sipp")
            _, asked = await log.wait_for(_menu_waits("PJSIP/provider-"), timeout=20)
            channel = str(asked["Channel"])
            # the menu is waiting for a key: the carrier presses 1 (new connection)
            reply = await press_next_key(tester, channel)
            assert "Success" in str(reply), reply
            _, route = await log.wait_for(event("IvrRoute"), timeout=15)
            await log.wait_for(event("QueueCallerJoin", Queue="connections"), timeout=10)
            entries = await tester.send({"Action": "QueueStatus", "Queue": "connections"})
            waiting = [
                dict(e)
                for e in (entries if isinstance(entries, list) else [])
                if e.get("Event") == "QueueEntry"
            ]
            row = await journal_row(engine, str(route["CallID"]), ended=False)
            await tester.hangup(channel)
            code = await call.finish(timeout=15)
    finally:
        tester.off_event("*", log)
    return SipCall(code, call.errors(), channel, dict(route), waiting, row, capture)


def received_by_caller(capture: Capture) -> Samples:
    streams = capture.streams()
    to_caller = [s for s in streams if s.dst == (CARRIER_IP, MEDIA_PORT)]
    assert to_caller, [(s.src, s.dst) for s in streams]
    return to_caller[0].pcm()


def likeness(received: Samples, prompt: Samples, search: float = 2.0) -> float:
    """The best normalised correlation of `prompt` with `received`, within its first
    `search` seconds: about 1 when the caller heard exactly that recording."""
    curve = likeness_curve(received[: len(prompt) + int(search * 8000)], prompt)
    return float(np.max(curve)) if len(curve) else 0.0


def likeness_curve(received: Samples, prompt: Samples) -> Samples:
    """The normalised correlation of `prompt` with `received` at each sample offset."""
    n = len(prompt)
    if len(received) < n:
        return np.zeros(0)
    dots = np.correlate(received, prompt, mode="valid")
    energy = np.cumsum(np.concatenate(([0.0], received**2)))
    windows = np.sqrt(np.maximum(energy[n:] - energy[:-n], 1e-12))[: len(dots)]
    return dots / (windows * np.linalg.norm(prompt))


def welcome_wav(engine: Engine, language: str) -> Samples:
    prompts = yaml.safe_load((PROJECT_ROOT / "flows" / "prompts.yaml").read_text("utf-8"))
    text = prompts["prompts"]["welcome"][language]
    key = engine.speech.render(text, language).rsplit("/", 1)[1]
    cache = Path(engine.settings.resolved_prompt_cache_dir())
    samples, rate = read_wav(cache / language / f"{key}.wav")
    assert rate == 8000
    return samples


async def test_sip_call_with_rfc4733_key_is_queued_and_hears_the_prompts(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path
) -> None:
    endpoints = await asyncio.to_thread(sandbox.cli, "pjsip show endpoints")
    assert "provider" in endpoints and "1001" in endpoints, endpoints
    result = await menu_call(sandbox, engine, tester, tmp_path, "5551000", "380441234567")
    code, channel, route, waiting, row = (
        result.code, result.channel, result.route, result.waiting, result.row
    )  # fmt: skip
    capture = result.capture
    assert code == 0, result.errors
    assert (route["Line"], route["Queue"], route["Class"], route["QueuePriority"]) == (
        "5551000",
        "connections",
        "new_connection",
        "10",
    )
    assert [(e["Channel"], e.get("Priority")) for e in waiting] == [(channel, "10")]
    assert row is not None
    assert (row.line, row.caller, row.queue, row.priority) == (
        "5551000",
        "380441234567",
        "connections",
        10,
    )
    assert row.menu_path == "hours:1>menu:1"

    streams = capture.streams()
    sent = [s for s in streams if s.src[0] == CARRIER_IP]
    assert "1" in "".join(s.digits() for s in sent)  # the key went out as RFC 4733
    audio = received_by_caller(capture)
    spoken = active_spans(audio, threshold_db=-40.0)
    speech_seconds = sum(s.duration for s in spoken)
    loud = audio[int(spoken[0].start * 8000) : int(spoken[-1].end * 8000)] if spoken else audio
    print(
        f"caller received {len(audio) / 8000:.1f} s, speech {speech_seconds:.1f} s "
        f"in {len(spoken)} spans, level {dbfs(loud):.1f} dBFS"
    )
    # welcome + main menu prompts: seconds of speech, far above the noise floor
    assert speech_seconds > 2.0
    assert dbfs(loud) > -35.0


async def test_sip_caller_hears_the_menu_in_the_language_of_the_dialled_line(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path
) -> None:
    """5551002 is a Russian line (flows/lines.csv), 5551000 uses the default, Ukrainian:
    the audio each caller received is that language's recording of the welcome prompt."""
    uk, ru = welcome_wav(engine, "uk"), welcome_wav(engine, "ru")
    heard = {}
    for did, language in (("5551000", "uk"), ("5551002", "ru")):
        await asyncio.to_thread((tmp_path / did).mkdir)
        result = await menu_call(sandbox, engine, tester, tmp_path / did, did, "380441234568")
        assert result.code == 0, result.errors
        audio = received_by_caller(result.capture)
        heard[language] = (likeness(audio, uk), likeness(audio, ru))
    print(f"welcome likeness (uk, ru): uk line {heard['uk']}, ru line {heard['ru']}")
    assert heard["uk"][0] > 0.8 and heard["uk"][1] < 0.5
    assert heard["ru"][1] > 0.8 and heard["ru"][0] < 0.5


async def test_a_number_not_among_the_trunks_dids_is_refused_404(
    sandbox: Sandbox, engine: Engine, tester: AmiClient, tmp_path: Path
) -> None:
    """7770000 is outside the trunk's DIDs (5550000-5559999): 404, no menu, no journal."""
    await hang_up_everything(sandbox)
    log = AmiLog()
    tester.on_event("*", log)
    try:
        call = await carrier_refused_call("7770000", tmp_path)
        code = await call.finish(timeout=20)
        await asyncio.sleep(0.3)  # any AGI or route event of that call would be here by now
    finally:
        tester.off_event("*", log)
    assert code == 0, call.errors()  # SIPp got its 404
    assert not log.find(lambda e: e.get("Event") in ("AGIExecStart", "Newexten") and
                        str(e.get("Context", "")) == "ivr-inbound")  # fmt: skip
    assert not log.find(event("IvrRoute"))
    refused = event("Newexten", Context="ivr-trunk-provider", Application="Hangup", AppData="1")
    assert log.find(refused)  # by the trunk's own rule, not for want of a context


async def test_a_phone_registers_with_its_generated_password_and_a_wrong_one_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Phone 1001 (telephony.yaml) registers with the password the sandbox generated: its
    contact shows in Asterisk; the same phone with a wrong password is not registered."""
    password = sandbox.secret("phone-1001")
    good, bad = tmp_path / "good", tmp_path / "bad"
    for path in (good, bad):
        await asyncio.to_thread(path.mkdir)
    phone = await phone_register("1001", password, good)
    contacts = ""
    for _ in range(30):
        await asyncio.sleep(0.1)
        contacts = await asyncio.to_thread(sandbox.cli, "pjsip show contacts")
        if "1001/sip:1001@127.0.0.1:5070" in contacts:
            break
    code = await phone.finish(timeout=20)
    assert code == 0, phone.errors()
    assert "1001/sip:1001@127.0.0.1:5070" in contacts, contacts
    after = await asyncio.to_thread(sandbox.cli, "pjsip show contacts")
    assert "1001/sip:1001@127.0.0.1:5070" not in after  # unregistered again

    wrong = await phone_register("1001", password + "x", bad)
    assert await wrong.finish(timeout=20) != 0  # a second 401: the scenario fails

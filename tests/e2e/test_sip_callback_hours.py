"""A callback in the caller's language and inside operator hours, over PJSIP on the real
Asterisk. SIPp as the carrier calls line 5553000 (Russian in this test's flows) from
127.0.0.2:5062, keys 2 into first_line and, offered a callback, presses 1 while operators
are closed (calendar.yaml: they open at the next minute). The caller hears when he will be
called back, in Russian; nothing is dialled before the opening; at the opening the engine
calls him over the trunk (SIPp as the callee on 127.0.0.2:5060), and the callback greets
him in Russian. The audio each side received (captured on loopback) is compared with the
Russian and the Ukrainian renderings of the shipped prompts."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ivr.app import Engine
from ivr.config import PROJECT_ROOT, Settings
from ivr.flow.callback_window import said_time
from ivr.flow.prompts import fill
from ivr.sandbox.calls.sip.audio import Samples, read_wav, tone
from ivr.sandbox.calls.sip.carrier import (
    ASTERISK_SIP,
    CARRIER_IP,
    MEDIA_PORT,
    press_next_key,
    require,
)
from ivr.sandbox.calls.sip.plan import MediaPlan
from ivr.sandbox.calls.sip.rtp import Capture
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.telephony.sip_config import load_telephony
from tests.e2e.queues_kit import AmiLog, agent, event, fast_queues, queue_engine, queue_flows
from tests.e2e.sip_menu import in_menu
from tests.e2e.test_sip_call import RTP_PORTS, likeness
from tests.e2e.test_sip_callback import _sipp_time

LINE = "5553000"  # a Russian line in this test's flows
PHONE = "380441234577"  # the caller, called back
CALLEE_MEDIA = MEDIA_PORT + 100  # the called-back caller's RTP port
TALK = 12.0  # s the called-back caller stays on the line
SHIPPED = yaml.safe_load((PROJECT_ROOT / "flows" / "prompts.yaml").read_text("utf-8"))["prompts"]
GREETING, LATER = "callback_greeting", "queue_callback_confirm_later"


def next_opening(margin: float = 30.0) -> datetime:
    """A whole minute at least `margin` s from now: operators open then (UTC)."""
    now = datetime.now(UTC)
    opening = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return opening if (opening - now).total_seconds() >= margin else opening + timedelta(minutes=1)


def russian_line_flows(tmp_path: Path, opening: datetime) -> Path:
    """The queue-test flows with line 5553000 in Russian, the shipped callback prompts in
    uk (the default), ru and en, and operators who open at `opening` (for two hours)."""
    flows = queue_flows(tmp_path)
    lines = yaml.safe_load((flows / "lines.yaml").read_text("utf-8"))
    for line in lines["lines"]:
        if line["number"] == LINE:
            line["language"] = "ru"
    catalog = yaml.safe_load((flows / "prompts.yaml").read_text("utf-8"))
    catalog.update(languages=["uk", "ru", "en"], default_language="uk")
    catalog["prompts"].update({name: SHIPPED[name] for name in (GREETING, LATER)})
    hours = f"{opening:%H:%M}-{opening + timedelta(hours=2):%H:%M}"
    calendar = {"timezone": "UTC", "schedules": {"operators": {"daily": hours}}}
    for name, data in (("lines", lines), ("prompts", catalog), ("calendar", calendar)):
        text = yaml.safe_dump(data, allow_unicode=True)
        (flows / f"{name}.yaml").write_text(text, encoding="utf-8")
    return flows


def prompt_wav(engine: Engine, name: str, language: str, values: dict[str, str]) -> Samples:
    """The shipped prompt `name` in `language`, filled, as the engine renders it."""
    text = fill(SHIPPED[name][language], values)
    key = engine.speech.render(text, language).rsplit("/", 1)[1]
    samples, rate = read_wav(
        Path(engine.settings.resolved_prompt_cache_dir()) / language / f"{key}.wav"
    )
    assert rate == 8000
    return samples


def heard(capture: Capture, port: int, prompts: dict[str, Samples]) -> dict[str, float]:
    """How like each prompt the audio sent to the carrier's `port` was (best over its
    streams): about 1 for the prompt heard. A prompt's last 0.5 s (espeak's trailing
    silence, cut short when the call moves on or hangs up) is left out."""
    streams = [s for s in capture.streams() if s.dst == (CARRIER_IP, port)]
    assert streams, [(s.src, s.dst) for s in capture.streams()]
    return {
        language: max(
            likeness(s.pcm(), wav[: len(wav) - 4000], search=len(s.pcm()) / 8000) for s in streams
        )
        for language, wav in prompts.items()
    }


async def test_an_after_hours_callback_is_promised_for_the_opening_and_greets_in_russian(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    require("tcpdump", "tcpdump")
    trunk = load_telephony(PROJECT_ROOT / "telephony.yaml").outbound_trunk
    assert trunk is not None and trunk.caller_id, "telephony.yaml needs an outbound trunk"
    opening = next_opening()
    flows = russian_line_flows(tmp_path, opening)
    queues = fast_queues(
        tmp_path,
        agents={"2001": agent("2001", "first_line")},
        escalation=[{"after": 1.0, "offer_callback": True}],
        answer_target=1.0,
        callbacks={
            "dial": "PJSIP/{phone}@provider",
            "caller_id": trunk.caller_id,
            "max_rings": 3,
            "hours": "operators",
        },
    )
    caller = scenario(
        "caller", tmp_path / "caller", hold=60, caller_id=PHONE, keys_on_notify=["2", "1"]
    )
    callee = scenario(
        "phone", tmp_path / "callee", ring=1.0, hold=TALK, plan=MediaPlan(tone(440, TALK))
    )
    log = AmiLog()
    tester.on_event("*", log)
    seen: dict[str, Any] = {}
    try:
        async with queue_engine(sandbox, settings, tmp_path, queues, flows=flows) as engine:
            await agent_behaves(tester, "2001", "0", "30")
            with (
                Capture(tmp_path / "calls.pcap", RTP_PORTS, max_seconds=200) as capture,
                Sipp(
                    callee, local_ip=CARRIER_IP, local_port=5060, media_port=CALLEE_MEDIA,
                    timeout=180,
                ) as called_back,
            ):  # fmt: skip
                with Sipp(
                    caller, target=ASTERISK_SIP, service=LINE, local_ip=CARRIER_IP,
                    local_port=5062, media_port=MEDIA_PORT, timeout=60,
                ) as calling:  # fmt: skip
                    _, asked = await log.wait_for(in_menu, 20)
                    channel = str(asked["Channel"])
                    await press_next_key(tester, channel)  # 2: existing service, first_line
                    _, seen["route"] = await log.wait_for(event("IvrRoute"), 15)
                    await log.wait_for(event("IvrEscalation", Step="offer_callback"), 10)
                    await asyncio.sleep(0.5)  # the offer is whispered
                    await press_next_key(tester, channel)  # 1: call me back
                    await log.wait_for(event("IvrCallbackAccepted"), 5)
                    seen["accepted_at"] = time.time()
                    seen["caller"] = await asyncio.to_thread(calling.wait, 30)
                await engine.agents.login("2001")  # served: only the hours hold it back
                await engine.reports.flush()
                [seen["request"]] = engine.report_repository.callbacks()
                wait = opening.timestamp() - time.time() + 15
                _, seen["answered"] = await log.wait_for(event("IvrCallbackAnswered"), wait)
                _, seen["playback"] = await log.wait_for(
                    event("Newexten", Context="ivr-callback", Application="Playback"), 5
                )
                seen["callee"] = await asyncio.to_thread(called_back.wait, TALK + 20)
            request = seen["request"]
            calendar = engine.flows.calendar
            told = {"minutes": "1", "key": "1"} | {
                "callback_from": said_time(calendar, opening, request.created_at),
                "callback_by": said_time(calendar, request.promised_by, request.created_at),
            }
            later = {lang: prompt_wav(engine, LATER, lang, told) for lang in ("ru", "uk")}
            greeting = {lang: prompt_wav(engine, GREETING, lang, {}) for lang in ("ru", "uk")}
            greeting_sound = engine.speech.render(fill(SHIPPED[GREETING]["ru"], {}), "ru")
            to_caller = await asyncio.to_thread(heard, capture, MEDIA_PORT, later)
            to_callee = await asyncio.to_thread(heard, capture, CALLEE_MEDIA, greeting)
    finally:
        tester.off_event("*", log)
    seen["caller"].check(1)
    seen["callee"].check(1)
    invite_at = _sipp_time(seen["callee"].messages, "INVITE sip:")
    print(
        f"\nopening {opening:%H:%M:%S}, accepted {opening.timestamp() - seen['accepted_at']:.1f} s"
        f" before; callback INVITE {invite_at - opening.timestamp():+.2f} s from the opening;"
        f" caller heard the later prompt {to_caller}, callee the greeting {to_callee}"
    )
    assert seen["route"]["MenuLanguage"] == "ru"
    assert seen["accepted_at"] < opening.timestamp()  # taken while closed
    assert (request.language, request.next_attempt_at) == ("ru", opening)
    assert request.promised_by == opening + timedelta(seconds=60)  # the promise: 60 s
    # told in Russian when he will be called back (not the default language's version)
    assert to_caller["ru"] > 0.8 and to_caller["uk"] < 0.5, to_caller
    # not dialled before the opening, dialled at it (the dialer polls every 0.2 s)
    assert opening.timestamp() - 0.3 <= invite_at < opening.timestamp() + 3, invite_at
    assert seen["answered"]["MenuLanguage"] == "ru"
    assert seen["playback"]["AppData"] == greeting_sound
    assert to_callee["ru"] > 0.8 and to_callee["uk"] < 0.5, to_callee

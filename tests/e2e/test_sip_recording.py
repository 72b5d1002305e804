"""Call recording over real SIP: two SIPp carrier callers at once. One keys 1 into
first_line (`record: true`) and plays an 880 Hz tone; agent 2001 answers and talks 3 s.
The other keys 3 into internet (not recorded); agent 2002 answers. The first call's WAV
is downloaded from the API with the supervisor's token (whole, and a byte range) and its
audio judged: not silent, the caller's tone in it, about as long as the talk; the second
call leaves no file and the API answers 404. On the dashboard, a supervisor signs in with
his token and plays the recording (fetched with the token into a blob URL: strict CSP)."""

import asyncio
import io
import re
import wave
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import yaml
from playwright.async_api import expect

from ivr.config import Settings
from ivr.sandbox.calls.sip.audio import RATE, dbfs, silence, tone, tone_spans
from ivr.sandbox.calls.sip.carrier import ASTERISK_SIP, CARRIER_IP
from ivr.sandbox.calls.sip.plan import MediaPlan, Press
from ivr.sandbox.calls.sip.sipp import Sipp, scenario
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.browser import WALL, chromium, new_page
from tests.e2e.conftest import eventually, journal_row
from tests.e2e.queues_kit import TOKEN, agent, fast_queues, queue_engine

TONE_HZ = 880.0
TALK = 3  # seconds the agents talk, then hang up
RECORDED, UNRECORDED = "380441110001", "380441110002"  # the callers' numbers
API = "http://127.0.0.1:18080"  # queue_engine's HTTP port
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def recording_queues(directory: Path) -> Path:
    path = fast_queues(
        directory,
        agents={"2001": agent("2001", "first_line"), "2002": agent("2002", "internet")},
        queues={"first_line": {"title": "first_line", "record": True}},
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["recordings"] = {"retention_days": 1}  # the sandbox's directory, as rendered
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def wav_samples(body: bytes) -> tuple[np.ndarray[Any, Any], int, int]:
    """Samples in [-1, 1], the rate and the sample width of a WAV file's bytes."""
    with wave.open(io.BytesIO(body), "rb") as wav:
        width, rate = wav.getsampwidth(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    assert width == 2, width
    return np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0, rate, width


async def test_a_recorded_queue_call_is_downloaded_with_the_callers_audio(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = recording_queues(tmp_path)
    ids: dict[str, str] = {}  # caller number -> the call's Uniqueid (the journal's call id)

    def on_event(e: Any) -> None:
        if e.get("Event") == "QueueCallerJoin":
            ids.setdefault(str(e.get("CallerIDNum")), str(e.get("Uniqueid")))

    async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
        for agent_id in ("2001", "2002"):
            await agent_behaves(tester, agent_id, "0", str(TALK))
            await engine.agents.login(agent_id)
        # The first caller keys 1 at 1.5 s (a missed key times out into first_line too),
        # then sends the tone for 12 s; the second keys 3 (internet) and stays silent.
        plan = MediaPlan(
            audio=np.concatenate([silence(2.0), tone(TONE_HZ, 12.0, level_db=-12.0)]),
            presses=(Press("1", 1.5),),
        )
        plans = {
            RECORDED: scenario("caller", tmp_path / "rec", plan=plan, hold=25, caller_id=RECORDED),
            UNRECORDED: scenario(
                "caller",
                tmp_path / "plain",
                plan=MediaPlan.keys("3", first=1.5),
                hold=25,
                caller_id=UNRECORDED,
            ),
        }
        tester.on_event("QueueCallerJoin", on_event)
        try:
            with (
                Sipp(plans[RECORDED], target=ASTERISK_SIP, service="5551000", local_ip=CARRIER_IP,
                     local_port=5062, media_port=16010, timeout=35.0) as first,
                Sipp(plans[UNRECORDED], target=ASTERISK_SIP, service="5551000",
                     local_ip=CARRIER_IP, local_port=5064, media_port=16020,
                     timeout=35.0) as second,
            ):  # fmt: skip
                # the agents hang up after TALK s: Asterisk sends each caller a BYE
                results = await asyncio.gather(
                    asyncio.to_thread(first.wait, 40), asyncio.to_thread(second.wait, 40)
                )
        finally:
            tester.off_event("QueueCallerJoin", on_event)
        for result in results:
            result.check(1)
        assert set(ids) == {RECORDED, UNRECORDED}, ids
        rows = {who: await journal_row(engine, call_id) for who, call_id in ids.items()}
        assert rows[RECORDED] is not None and rows[RECORDED].queue == "first_line"
        assert rows[UNRECORDED] is not None and rows[UNRECORDED].queue == "internet"
        assert rows[RECORDED].agent == "2001" and rows[UNRECORDED].agent == "2002"
        recorded, unrecorded = ids[RECORDED], ids[UNRECORDED]
        # MixMonitor closes the file as the bridge ends
        await eventually(lambda: engine.recordings.find(recorded) is not None, timeout=5)

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{API}/api/calls?limit=10", headers=HEADERS) as reply:
                assert reply.status == 200, await reply.text()
                listed = {c["call_id"]: c["recording"] for c in (await reply.json())["calls"]}
            url = f"{API}/api/calls/{recorded}/recording"
            async with http.get(url) as reply:
                assert reply.status == 401
            async with http.get(url, headers=HEADERS) as reply:
                assert reply.status == 200, await reply.text()
                assert reply.headers["Content-Type"] == "audio/wav"
                assert reply.headers["Accept-Ranges"] == "bytes"
                body = await reply.read()
            ranged = {**HEADERS, "Range": "bytes=0-43"}  # the RIFF header
            async with http.get(url, headers=ranged) as reply:
                assert reply.status == 206
                assert reply.headers["Content-Range"] == f"bytes 0-43/{len(body)}"
                head = await reply.read()
            tail_range = {**HEADERS, "Range": f"bytes={len(body) - 1000}-"}
            async with http.get(url, headers=tail_range) as reply:
                assert reply.status == 206
                tail = await reply.read()
            none_url = f"{API}/api/calls/{unrecorded}/recording"
            async with http.get(none_url, headers=HEADERS) as reply:
                missing = reply.status

        assert listed.get(recorded) is True and listed.get(unrecorded) is False, listed
        assert head == body[:44] and head[:4] == b"RIFF" and head[8:12] == b"WAVE"
        assert tail == body[-1000:]
        assert missing == 404
        assert engine.recordings.find(unrecorded) is None
        assert not list(engine.recordings.directory.glob(f"{unrecorded}*"))

        samples, rate, _ = wav_samples(body)
        seconds = len(samples) / rate
        spans = tone_spans(samples, TONE_HZ, rate) if rate == RATE else []
        toned = sum(s.duration for s in spans)
        print(
            f"\nrecording {recorded}.wav: {len(body)} bytes, {seconds:.2f} s at {rate} Hz, "
            f"level {dbfs(samples):.1f} dBFS, {TONE_HZ:g} Hz tone for {toned:.2f} s "
            f"in {len(spans)} spans ({max((s.level_db for s in spans), default=0):.1f} dBFS); "
            f"talk {rows[RECORDED].talk_seconds} s"
        )
        assert rate == RATE
        assert TALK - 1.0 <= seconds <= TALK + 2.0  # the bridged talk only, not the menu/MOH
        assert dbfs(samples) > -30.0  # not silent
        assert toned >= TALK - 1.0  # the caller's tone, through most of the talk

        # the dashboard: the supervisor's token, the journal rows, Play -> the player has it
        errors: list[str] = []
        async with chromium() as browser, new_page(browser, errors, WALL) as page:
            await page.goto(f"{API}/dashboard")
            await page.locator("#calls-title").click()  # open the panel
            await page.locator("#calls-token").fill(TOKEN)
            await page.get_by_role("button", name="Show calls").click()
            row = page.locator(f"[data-testid=call-row][data-call-id='{recorded}']")
            await expect(row.get_by_test_id("play")).to_have_count(1)
            plain = page.locator(f"[data-testid=call-row][data-call-id='{unrecorded}']")
            await expect(plain).to_have_count(1)
            await expect(plain.get_by_test_id("play")).to_have_count(0)
            await row.get_by_test_id("play").click()
            player = page.locator("#calls-player")
            await expect(player).to_have_attribute("src", re.compile(r"^blob:"))
            for _ in range(50):  # the WAV's header decoded (wait_for_function needs eval)
                if await player.evaluate("node => node.readyState") >= 1:
                    break
                await asyncio.sleep(0.1)
            played = await player.evaluate("node => node.duration")
            download = await page.locator("#calls-download").get_attribute("download")
        print(f"dashboard player: {played:.2f} s, download as {download}")
        assert abs(played - seconds) < 0.1, (played, seconds)
        assert download == f"{recorded}.wav"
        assert errors == [], errors
        path = engine.recordings.path_for(recorded)
        assert path is not None
        await asyncio.to_thread(path.unlink)  # the sandbox keeps no test recording

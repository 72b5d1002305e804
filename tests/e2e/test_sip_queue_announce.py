"""app_queue's own position announcement (`announce: {by: asterisk}`) on the real Asterisk,
with a SIPp caller on the PJSIP trunk waiting alone in a queue nobody is logged in to.
app_queue tells him his place at the join and again `every` s later, in its own sounds
(place 1: queue-youarenext, then queue-thankyou); the rendered min-announce-frequency keeps
app_queue's 15 s minimum from stretching a shorter `every`. What he received (captured on
loopback) is compared with Asterisk's own recording; with the option off he hears none of
it, only the hold music."""

import asyncio
import os
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ivr.config import Settings
from ivr.sandbox.calls.sip.audio import Samples, read_wav
from ivr.sandbox.calls.sip.carrier import CARRIER_IP, MEDIA_PORT, require
from ivr.sandbox.calls.sip.rtp import Capture, received
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.queues_kit import agent, fast_queues, queue_engine
from tests.e2e.sip_menu import sip_callers_in_queue
from tests.e2e.test_sip_call import likeness_curve

EVERY = 8  # s between announcements: under app_queue's 15 s min-announce-frequency
LISTEN = EVERY + 6.0  # s after the join: the second announcement has begun and is heard
RTP_PORTS = (10000, 10999)  # telephony.yaml rtp.ports (Asterisk's side of every stream)
SOUNDS = "/usr/share/asterisk/sounds/en"  # app_queue's sounds (the caller's uk falls back)
HEARD = 0.6  # likeness above which the recording was heard


def chroot_path(root: Path, path: str) -> Path:
    """`path` as the chroot at `root` sees it: absolute links resolved inside it."""
    resolved, parts = root, list(PurePosixPath(path).parts[1:])
    for _ in range(64):
        if not parts:
            return resolved
        resolved = resolved / parts.pop(0)
        if resolved.is_symlink():
            target = PurePosixPath(os.readlink(resolved))
            resolved = root if target.is_absolute() else resolved.parent
            parts = [*(target.parts[1:] if target.is_absolute() else target.parts), *parts]
    raise RuntimeError(f"{path}: too many links in {root}")


def core_sound(sandbox: Sandbox, name: str, directory: Path) -> Samples:
    """Asterisk's own recording `name` (GSM), decoded to 8 kHz samples by sox."""
    gsm = chroot_path(sandbox.root, f"{SOUNDS}/{name}.gsm")
    wav = directory / f"{name}.wav"
    sox = [require("sox", "sox"), "-V1", str(gsm), "-r", "8000", "-c", "1", "-b", "16"]
    subprocess.run([*sox, "-e", "signed-integer", str(wav)], check=True, timeout=30)
    samples, rate = read_wav(wav)
    assert rate == 8000
    return samples


def heard_at(audio: Samples, prompt: Samples) -> list[float]:
    """The seconds into `audio` at which `prompt` begins, each time it was heard whole."""
    curve, times = likeness_curve(audio, prompt), []
    above = np.flatnonzero(curve > HEARD)
    while len(above):
        group = above[above < above[0] + len(prompt)]
        times.append(round(float(group[np.argmax(curve[group])]) / 8000, 2))
        above = above[above >= above[0] + len(prompt)]
    return times


async def waiting_caller_hears(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path, **queue: Any
) -> Samples:
    """What a lone SIPp caller received from a second before his join to LISTEN s after it,
    in first_line (nobody logged in; `queue`: its settings)."""
    agents = {"2001": agent("2001", "first_line")}
    queues = fast_queues(tmp_path, agents=agents, **queue)
    require("tcpdump", "tcpdump")
    async with queue_engine(sandbox, settings, tmp_path, queues):
        with Capture(tmp_path / "caller.pcap", RTP_PORTS, max_seconds=60) as capture:
            async with sip_callers_in_queue(
                sandbox, tester, tmp_path / "caller", 1, ["1"], hold=LISTEN + 20
            ) as calls:
                [joined_wall] = calls.joined.values()
                await asyncio.sleep(LISTEN)  # the window observed, not a scaled-down rule
    audio = received(capture.streams(), (CARRIER_IP, MEDIA_PORT), start=joined_wall - 1.0)
    return audio[: int((LISTEN + 1.0) * 8000)]


async def test_app_queue_tells_the_waiting_caller_his_place_at_the_join_and_every_s(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    announce = {"by": "asterisk", "position": True, "wait": True, "every": EVERY}
    audio = await waiting_caller_hears(sandbox, settings, tester, tmp_path, announce=announce)
    next_wav = core_sound(sandbox, "queue-youarenext", tmp_path)
    thanks_wav = core_sound(sandbox, "queue-thankyou", tmp_path)
    told = [round(t - 1.0, 2) for t in heard_at(audio, next_wav)]  # s after the join
    thanked = [round(t - 1.0, 2) for t in heard_at(audio, thanks_wav)]
    print(f"\nqueue-youarenext heard at (s after the join) {told}; queue-thankyou {thanked}")
    # at once at the join, then again after `every` s (app_queue counts whole seconds and
    # looks once a second), not after its default 15 s minimum
    assert len(told) == 2, told
    assert -0.5 < told[0] < 1.5, told
    assert EVERY - 0.5 < told[1] - told[0] < EVERY + 2.0, told
    # "thank you for your patience" right after the place; no hold time is said: Asterisk's
    # estimate (no call answered yet) is under a minute
    assert thanked and abs(thanked[0] - (told[0] + len(next_wav) / 8000)) < 0.5, thanked


async def test_with_the_engine_announcing_nothing_app_queue_says_nothing(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    audio = await waiting_caller_hears(sandbox, settings, tester, tmp_path)
    next_wav = core_sound(sandbox, "queue-youarenext", tmp_path)
    best = float(np.max(likeness_curve(audio, next_wav)))
    print(f"\nbest likeness to queue-youarenext over {LISTEN:g} s of waiting: {best:.2f}")
    assert len(audio) > LISTEN * 8000 and np.abs(audio).max() > 0.01  # he heard hold music
    assert best < 0.3, best

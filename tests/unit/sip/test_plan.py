"""A media plan becomes RTP that decodes back to its audio and its digits at their times."""

from pathlib import Path

import numpy as np
import pytest

from ivr.sandbox.calls.sip import audio
from ivr.sandbox.calls.sip.plan import MediaPlan, Press
from ivr.sandbox.calls.sip.rtp import PCMU, TELEPHONE_EVENT, read_pcap, rtp_streams


def test_plan_pcap_decodes_to_its_audio_and_digits(tmp_path: Path) -> None:
    hum = np.concatenate([audio.silence(0.5), audio.tone(425, 1.0, level_db=-12)])
    plan = MediaPlan(audio=hum, presses=MediaPlan.keys("12#", first=2.0, gap=0.5).presses)
    (stream,) = rtp_streams(read_pcap(plan.write_pcap(tmp_path / "plan.pcap")))
    assert stream.payload_types == {PCMU, TELEPHONE_EVENT}
    assert [(e.digit, e.time, e.duration, e.ended) for e in stream.dtmf()] == [
        ("1", 2.0, 0.1, True),
        ("2", 2.5, 0.1, True),
        ("#", 3.0, 0.1, True),
    ]
    (span,) = audio.tone_spans(stream.pcm(), 425)
    assert (span.start, span.end) == pytest.approx((0.5, 1.5))
    assert span.level_db == pytest.approx(-12, abs=0.2)
    seqs = [p.seq for p in stream.packets]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [p.time for p in stream.packets][:3] == [0.0, 0.02, 0.04]


@pytest.mark.parametrize(
    "key,at,seconds",
    [("x", 1.0, 0.1), ("1", -1.0, 0.1), ("1", 1.0, 0.01), ("1", 1.0, 9.0)],
)
def test_bad_presses_are_refused(key: str, at: float, seconds: float) -> None:
    with pytest.raises(ValueError, match=r"press|key"):
        Press(key, at, seconds)

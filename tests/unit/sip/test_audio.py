"""Levels, active spans and the tone detector on synthetic signals, and WAV round trips."""

from pathlib import Path

import numpy as np
import pytest

from ivr.sandbox.calls.sip.audio import (
    FLOOR_DB,
    Samples,
    Span,
    active_spans,
    dbfs,
    dominant_frequency,
    levels,
    read_wav,
    silence,
    tone,
    tone_spans,
    write_wav,
)

NOISE = np.random.default_rng(13).normal(0, 0.1, 8000 * 3)  # white noise at -20 dBFS


def test_levels_in_dbfs() -> None:
    assert dbfs(tone(1000, 1, level_db=-20)) == pytest.approx(-20, abs=0.01)
    assert dbfs(silence(1)) == FLOOR_DB
    assert dbfs(silence(0)) == FLOOR_DB
    assert dbfs(NOISE) == pytest.approx(-20, abs=0.2)
    steps = levels(np.concatenate([silence(0.1), tone(440, 0.1, level_db=-30)]), window=0.05)
    assert list(np.round(steps)) == [FLOOR_DB, FLOOR_DB, -30, -30]


def test_active_spans_join_short_gaps_and_drop_clicks() -> None:
    signal = np.concatenate(
        [
            silence(0.5),
            tone(300, 0.4, level_db=-25),
            silence(0.1),  # a breath: joined
            tone(300, 0.3, level_db=-25),
            silence(1.0),
            tone(300, 0.02, level_db=-10),  # a click: dropped
            silence(0.5),
        ]
    )
    assert active_spans(signal) == [Span(0.5, pytest.approx(1.3))]  # type: ignore[arg-type]
    assert active_spans(silence(2)) == []
    assert active_spans(tone(300, 1, level_db=-60)) == []  # below the threshold


def test_tone_found_at_its_time_with_its_level() -> None:
    beep = np.concatenate([silence(2.0), tone(1000, 0.5, level_db=-20), silence(1.0)])
    (span,) = tone_spans(beep, 1000)
    assert (span.start, span.end) == pytest.approx((2.0, 2.5))
    assert span.level_db == pytest.approx(-20, abs=0.5)
    assert span.above_rest_db > 40


def test_tone_found_under_noise_and_beside_another_tone() -> None:
    beep = np.concatenate([silence(1.0), tone(1000, 0.3, level_db=-20), silence(1.7)])
    (span,) = tone_spans(NOISE + beep, 1000)
    assert (span.start, span.end) == pytest.approx((1.0, 1.3))
    assert span.above_rest_db > 10
    assert [(s.start, s.end) for s in tone_spans(tone(1000, 1) + tone(425, 1), 425)] == [(0, 1)]


@pytest.mark.parametrize(
    "signal",
    [
        silence(2),
        NOISE,
        tone(1100, 2),  # a neighbour frequency
        tone(425, 2, level_db=-3),  # a loud other tone
        tone(1000, 2, level_db=-70),  # the tone, too quiet to count
        np.concatenate([silence(1), tone(1000, 0.05), silence(1)]),  # shorter than 0.1 s
    ],
    ids=["silence", "noise", "1100 Hz", "425 Hz", "inaudible", "blip"],
)
def test_no_tone_is_not_detected(signal: Samples) -> None:
    assert tone_spans(signal, 1000) == []


def test_dominant_frequency() -> None:
    assert dominant_frequency(tone(425, 1) + 0.1 * NOISE[:8000]) == pytest.approx(425, abs=2)
    with pytest.raises(ValueError, match="two samples"):
        dominant_frequency(silence(0))


def test_wav_round_trip(tmp_path: Path) -> None:
    signal = tone(1000, 0.5, rate=16000, level_db=-6)
    samples, rate = read_wav(write_wav(tmp_path / "t.wav", signal, 16000))
    assert rate == 16000
    assert np.allclose(samples, signal, atol=1e-4)
    (span,) = tone_spans(samples, 1000, rate)
    assert span.duration == pytest.approx(0.5)

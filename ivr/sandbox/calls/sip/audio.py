"""Measures on received audio: levels in dBFS, active spans, tones (when a frequency is present,
how long and how loud against the rest), and WAV files in and out as float arrays in [-1, 1].

dBFS here is 20·log10(RMS) with full scale 1.0: a full-scale sine reads -3 dBFS, digital
silence reads `FLOOR_DB`.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float64]
RATE = 8000
FLOOR_DB = -120.0


@dataclass(frozen=True)
class Span:
    start: float  # seconds from sample 0
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ToneSpan(Span):
    level_db: float  # the tone's own level, dBFS
    above_rest_db: float  # tone band's power per Hz over the other frequencies', same windows


def dbfs(samples: Samples) -> float:
    """RMS level of `samples` in dBFS (FLOOR_DB for silence or no samples)."""
    if len(samples) == 0:
        return FLOOR_DB
    rms = float(np.sqrt(np.mean(np.square(samples))))
    return max(20 * np.log10(rms), FLOOR_DB) if rms > 0 else FLOOR_DB


def levels(samples: Samples, rate: int = RATE, window: float = 0.02) -> Samples:
    """dBFS of each consecutive `window` (seconds); a trailing partial window is dropped."""
    frames = _frames(samples, round(window * rate))
    if len(frames) == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    with np.errstate(divide="ignore"):
        out: Samples = np.maximum(20 * np.log10(rms), FLOOR_DB)
    return out


def active_spans(
    samples: Samples,
    rate: int = RATE,
    *,
    threshold_db: float = -45.0,
    window: float = 0.02,
    bridge: float = 0.2,
    shortest: float = 0.04,
) -> list[Span]:
    """Spans whose windows are louder than `threshold_db`; gaps shorter than `bridge` are
    joined and spans shorter than `shortest` dropped."""
    return _spans(levels(samples, rate, window) > threshold_db, window, bridge, shortest)


def tone_spans(
    samples: Samples,
    frequency: float,
    rate: int = RATE,
    *,
    window: float = 0.05,
    bandwidth: float = 50.0,
    min_level_db: float = -50.0,
    min_above_rest_db: float = 10.0,
    bridge: float = 0.1,
    shortest: float = 0.1,
) -> list[ToneSpan]:
    """Where a tone at `frequency` (± `bandwidth`) is present: in each window (Hann-windowed
    FFT) its band is louder than `min_level_db` and its power per Hz beats the rest of the
    spectrum's by `min_above_rest_db` (white noise reads about 0 dB, a clean tone 60+)."""
    band, rest = _band_energies(samples, frequency, rate, window, bandwidth)
    share = _band_share(frequency, rate, window, bandwidth)
    rest = rest * share
    with np.errstate(divide="ignore"):
        band_db = 10 * np.log10(np.maximum(band, 1e-30))
        ratio_db = 10 * np.log10(np.maximum(band, 1e-30) / np.maximum(rest, 1e-30))
    present = (band_db > min_level_db) & (ratio_db > min_above_rest_db)
    out = []
    for span in _spans(present, window, bridge, shortest):
        first, last = round(span.start / window), round(span.end / window)
        inside = slice(first, last)
        out.append(
            ToneSpan(
                span.start,
                span.end,
                level_db=_db(float(np.mean(band[inside]))),
                above_rest_db=_db(float(np.sum(band[inside]))) - _db(float(np.sum(rest[inside]))),
            )
        )
    return out


def dominant_frequency(samples: Samples, rate: int = RATE) -> float:
    """The frequency (Hz) with the most energy over the whole signal."""
    if len(samples) < 2:
        raise ValueError("need at least two samples to find a frequency")
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


def tone(frequency: float, seconds: float, rate: int = RATE, level_db: float = -10.0) -> Samples:
    """A sine whose RMS is `level_db` dBFS."""
    t = np.arange(round(seconds * rate)) / rate
    out: Samples = np.sqrt(2) * 10 ** (level_db / 20) * np.sin(2 * np.pi * frequency * t)
    return out


def silence(seconds: float, rate: int = RATE) -> Samples:
    return np.zeros(round(seconds * rate))


def read_wav(path: Path) -> tuple[Samples, int]:
    """A 8/16/32-bit PCM WAV as mono floats in [-1, 1] (channels averaged) and its rate."""
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    kinds = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2.0**31)}
    if width not in kinds:
        raise ValueError(f"{path}: {8 * width}-bit samples; only 8, 16 or 32-bit PCM is read")
    dtype, offset, scale = kinds[width]
    data = (np.frombuffer(raw, dtype).astype(np.float64) - offset) / scale
    return data.reshape(-1, channels).mean(axis=1), rate


def write_wav(path: Path, samples: Samples, rate: int = RATE) -> Path:
    """Mono 16-bit PCM WAV (samples clipped to [-1, 1])."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return Path(path)


def _db(power: float) -> float:
    return float(10 * np.log10(max(power, 1e-30)))


def _frames(samples: Samples, size: int) -> Samples:
    count = len(samples) // size
    return np.asarray(samples[: count * size], dtype=np.float64).reshape(count, size)


def _band_energies(
    samples: Samples, frequency: float, rate: int, window: float, bandwidth: float
) -> tuple[Samples, Samples]:
    size = round(window * rate)
    frames = _frames(samples, size)
    if len(frames) == 0:
        return np.zeros(0), np.zeros(0)
    power = np.square(np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)))
    power *= 2 / (size * np.sum(np.square(np.hanning(size))))  # Parseval: sums to mean square
    freqs = np.fft.rfftfreq(size, 1 / rate)
    in_band = np.abs(freqs - frequency) <= bandwidth
    return power[:, in_band].sum(axis=1), power[:, ~in_band].sum(axis=1)


def _band_share(frequency: float, rate: int, window: float, bandwidth: float) -> float:
    """Bins in the band / bins outside it, to compare power per Hz."""
    freqs = np.fft.rfftfreq(round(window * rate), 1 / rate)
    in_band = int(np.sum(np.abs(freqs - frequency) <= bandwidth))
    return in_band / max(len(freqs) - in_band, 1)


def _spans(
    flags: npt.NDArray[np.bool_], window: float, bridge: float, shortest: float
) -> list[Span]:
    spans: list[Span] = []
    start = None
    for i, flag in enumerate([*flags.tolist(), False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            begin, end = start * window, i * window
            if spans and begin - spans[-1].end < bridge - 1e-9:
                begin = spans.pop().start
            spans.append(Span(begin, end))
            start = None
    return [s for s in spans if s.duration >= shortest - 1e-9]

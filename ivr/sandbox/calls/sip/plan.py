"""What a scripted SIP party sends: audio samples and RFC 4733 digits at given times, built
into RTP packets and written as a pcap that SIPp plays with `play_pcap_audio`.

The packets are 20 ms of PCMU each; while a digit is pressed the audio is replaced by its
telephone-event packets (one per 20 ms, then three end packets), as real phones do.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ivr.sandbox.calls.sip.audio import RATE, Samples
from ivr.sandbox.calls.sip.rtp import EVENT_NAMES, PCMU, TELEPHONE_EVENT, encode_ulaw

FRAME = 160  # samples per 20 ms packet


@dataclass(frozen=True)
class Press:
    """A key pressed `at` seconds after the media starts, held for `seconds`."""

    key: str
    at: float
    seconds: float = 0.1

    def __post_init__(self) -> None:
        if self.key not in EVENT_NAMES:
            raise ValueError(f"key {self.key!r} is not one of {EVENT_NAMES}")
        if self.at < 0 or not 0.04 <= self.seconds <= 5:
            raise ValueError(f"press {self.key!r}: at must be >= 0, seconds in [0.04, 5]")


@dataclass(frozen=True)
class MediaPlan:
    """Audio (8 kHz floats) and key presses; the media lasts as long as the longer of both."""

    audio: Samples = field(default_factory=lambda: np.zeros(0))
    presses: tuple[Press, ...] = ()
    ssrc: int = 0x5EED0001

    @classmethod
    def keys(cls, keys: str, *, first: float = 1.0, gap: float = 0.5, **kw: object) -> MediaPlan:
        """Keys pressed one after another: the first at `first` s, then every `gap` s."""
        presses = tuple(Press(k, first + i * gap) for i, k in enumerate(keys))
        return cls(presses=presses, **kw)  # type: ignore[arg-type]

    @property
    def seconds(self) -> float:
        ends = [p.at + p.seconds + 0.06 for p in self.presses] + [len(self.audio) / RATE]
        return max(ends)

    def rtp_payloads(self) -> list[tuple[float, bytes]]:
        """(send time in seconds, RTP packet) for the whole plan."""
        frames = int(np.ceil(self.seconds * RATE / FRAME))
        audio = np.zeros(frames * FRAME)
        audio[: len(self.audio)] = self.audio
        events = {}
        for press in self.presses:
            start = round(press.at * RATE / FRAME)
            length = max(round(press.seconds * RATE / FRAME), 2)
            for i in range(length + 3):  # the last three are the end packets
                events[start + i] = (press, start, min(i + 1, length), i >= length)
        out, seq = [], 1
        for n in range(frames):
            if n in events:
                press, start, units, end = events[n]
                code = EVENT_NAMES.index(press.key)
                payload = struct.pack(">BBH", code, (0x80 if end else 0) | 10, units * FRAME)
                header = _header(n == start, TELEPHONE_EVENT, seq, start * FRAME, self.ssrc)
            else:
                payload = encode_ulaw(audio[n * FRAME : (n + 1) * FRAME])
                header = _header(n == 0, PCMU, seq, n * FRAME, self.ssrc)
            out.append((n * FRAME / RATE, header + payload))
            seq += 1
        return out

    def write_pcap(self, path: Path) -> Path:
        """The plan as an Ethernet pcap of UDP from port 6000 to 6002 (SIPp replaces both)."""
        data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
        for stamp, packet in self.rtp_payloads():
            frame = b"\0" * 12 + b"\x08\x00" + _ipv4_udp(packet)
            sec, usec = int(stamp), round((stamp - int(stamp)) * 1e6)
            data += struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
        Path(path).write_bytes(data)
        return Path(path)


def _header(marker: bool, pt: int, seq: int, ts: int, ssrc: int) -> bytes:
    return struct.pack(">BBHII", 0x80, pt | (0x80 if marker else 0), seq & 0xFFFF, ts, ssrc)


def _ipv4_udp(payload: bytes) -> bytes:
    udp = struct.pack(">HHHH", 6000, 6002, 8 + len(payload), 0) + payload
    header = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0)
    checksum = _checksum(header + bytes([127, 0, 0, 1, 127, 0, 0, 1]))
    header = header[:10] + struct.pack(">H", checksum)
    return header + bytes([127, 0, 0, 1, 127, 0, 0, 1]) + udp


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

"""Capture RTP on loopback with tcpdump, read the pcap, split it into streams and decode them.

`Capture` runs tcpdump (bounded in time and packets) around a call; `read_pcap` reads classic
pcap (and the pcapng tcpdump can also write) in pure Python; `rtp_streams` groups the RTP
packets by (source, destination, SSRC); `RtpStream.pcm()` decodes PCMU/PCMA to 8 kHz floats
placed by RTP timestamp (gaps are silence) and `RtpStream.dtmf()` decodes RFC 4733 events.
"""

from __future__ import annotations

import ipaddress
import os
import selectors
import signal
import struct
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

Address = tuple[str, int]
RATE = 8000
PCMU, PCMA = 0, 8
TELEPHONE_EVENT = 101
EVENT_NAMES = "0123456789*#ABCD"


class CaptureError(RuntimeError):
    """tcpdump could not start, or a capture file is not a readable pcap."""


@dataclass(frozen=True)
class Datagram:
    """One captured UDP datagram."""

    time: float
    src: Address
    dst: Address
    payload: bytes


# --- pcap / pcapng ------------------------------------------------------------------------

_ETHERNET, _NULL, _RAW, _RAW_ALT, _LOOP, _SLL, _SLL2 = 1, 0, 101, 12, 108, 113, 276


def read_pcap(path: Path) -> list[Datagram]:
    """The UDP datagrams in a pcap or pcapng file (IPv4/IPv6; non-UDP frames are skipped)."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise CaptureError(f"{path}: {len(data)} bytes, too short for a pcap file")
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return list(_pcapng_frames(data, str(path)))
    magic = data[:4]
    formats = {
        b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
        b"\xa1\xb2\xc3\xd4": (">", 1e-6),
        b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
        b"\xa1\xb2\x3c\x4d": (">", 1e-9),
    }
    if magic not in formats:
        raise CaptureError(f"{path}: not a pcap file (magic {magic.hex()})")
    endian, unit = formats[magic]
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    out: list[Datagram] = []
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from(endian + "IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        datagram = _udp(linktype, frame, sec + frac * unit, endian)
        if datagram is not None:
            out.append(datagram)
    return out


def _pcapng_frames(data: bytes, name: str) -> Iterator[Datagram]:
    endian = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    interfaces: list[tuple[int, float]] = []  # (linktype, timestamp unit)
    offset = 0
    while offset + 12 <= len(data):
        kind, length = struct.unpack_from(endian + "II", data, offset)
        if length < 12 or offset + length > len(data):
            raise CaptureError(f"{name}: truncated pcapng block at byte {offset}")
        body = data[offset + 8 : offset + length - 4]
        if kind == 0x0A0D0D0A:
            interfaces = []
        elif kind == 1:  # interface description: linktype; if_tsresol option left at µs
            interfaces.append((struct.unpack_from(endian + "H", body, 0)[0], 1e-6))
        elif kind == 6:  # enhanced packet
            iface, high, low, caplen = struct.unpack_from(endian + "IIII", body, 0)
            linktype, unit = interfaces[iface]
            stamp = ((high << 32) | low) * unit
            datagram = _udp(linktype, body[20 : 20 + caplen], stamp, endian)
            if datagram is not None:
                yield datagram
        offset += length


def _udp(linktype: int, frame: bytes, stamp: float, endian: str) -> Datagram | None:
    ip = _ip_packet(linktype, frame, endian)
    if ip is None or not ip:
        return None
    version = ip[0] >> 4
    if version == 4 and len(ip) >= 20:
        header = (ip[0] & 0x0F) * 4
        fragment = struct.unpack_from(">H", ip, 6)[0] & 0x3FFF
        if ip[9] != 17 or fragment:
            return None
        src_ip, dst_ip = _ipv4(ip[12:16]), _ipv4(ip[16:20])
        udp = ip[header:]
    elif version == 6 and len(ip) >= 40:
        if ip[6] != 17:  # extension headers are not followed: RTP on loopback has none
            return None
        src_ip, dst_ip = _ipv6(ip[8:24]), _ipv6(ip[24:40])
        udp = ip[40:]
    else:
        return None
    if len(udp) < 8:
        return None
    sport, dport, length = struct.unpack_from(">HHH", udp, 0)
    return Datagram(stamp, (src_ip, sport), (dst_ip, dport), bytes(udp[8:length]))


def _ip_packet(linktype: int, frame: bytes, endian: str) -> bytes | None:
    if linktype == _ETHERNET:
        ethertype, offset = struct.unpack_from(">H", frame, 12)[0], 14
        while ethertype in (0x8100, 0x88A8) and len(frame) >= offset + 4:  # VLAN tags
            ethertype, offset = struct.unpack_from(">H", frame, offset + 2)[0], offset + 4
        return frame[offset:] if ethertype in (0x0800, 0x86DD) else None
    if linktype == _NULL:  # BSD loopback: address family in the capturing host's order
        return frame[4:]
    if linktype == _LOOP:
        return frame[4:]
    if linktype == _SLL:
        return frame[16:] if struct.unpack_from(">H", frame, 14)[0] in (0x0800, 0x86DD) else None
    if linktype == _SLL2:
        return frame[20:] if struct.unpack_from(">H", frame, 0)[0] in (0x0800, 0x86DD) else None
    if linktype in (_RAW, _RAW_ALT, 228, 229):
        return frame
    raise CaptureError(f"unsupported pcap link type {linktype}")


def _ipv4(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def _ipv6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


# --- RTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RtpPacket:
    """An RTP packet (RFC 3550) with the time and addresses it was captured with."""

    time: float
    src: Address
    dst: Address
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...]
    extension: tuple[int, bytes] | None  # (profile-defined id, data)
    payload: bytes


def parse_rtp(datagram: Datagram) -> RtpPacket | None:
    """The RTP packet in a datagram, or None when it is not RTP version 2 (SIP, RTCP, STUN)."""
    data = datagram.payload
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    first, second, seq, timestamp, ssrc = struct.unpack_from(">BBHII", data, 0)
    payload_type = second & 0x7F
    if 72 <= payload_type <= 76:  # RTCP SR/RR/SDES/BYE/APP (RFC 5761)
        return None
    offset = 12 + 4 * (first & 0x0F)
    if offset > len(data):
        return None
    csrcs = struct.unpack_from(">" + "I" * (first & 0x0F), data, 12)
    extension = None
    if first & 0x10:
        if offset + 4 > len(data):
            return None
        profile, words = struct.unpack_from(">HH", data, offset)
        extension = (profile, data[offset + 4 : offset + 4 + 4 * words])
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:
        end -= data[-1]
    if end < offset:
        return None
    return RtpPacket(
        time=datagram.time,
        src=datagram.src,
        dst=datagram.dst,
        marker=bool(second & 0x80),
        payload_type=payload_type,
        seq=seq,
        timestamp=timestamp,
        ssrc=ssrc,
        csrcs=tuple(csrcs),
        extension=extension,
        payload=data[offset:end],
    )


@dataclass(frozen=True)
class DtmfEvent:
    """One RFC 4733 telephone event: `digit` is 0-9, *, #, A-D (or `event:N`)."""

    digit: str
    time: float  # capture time of its first packet
    duration: float  # seconds, from the longest duration field seen
    ended: bool  # an end-of-event packet was seen


@dataclass
class RtpStream:
    """The packets of one SSRC from one address to another, in capture order."""

    src: Address
    dst: Address
    ssrc: int
    packets: list[RtpPacket] = field(default_factory=list)

    @property
    def payload_types(self) -> set[int]:
        return {p.payload_type for p in self.packets}

    @property
    def start(self) -> float:
        return self.packets[0].time

    def pcm(self, event_pt: int = TELEPHONE_EVENT) -> npt.NDArray[np.float64]:
        """The PCMU/PCMA audio as 8 kHz floats in [-1, 1], ordered by sequence number and
        placed by RTP timestamp: lost packets and silence suppression are zeros. Sample 0 is
        the first audio packet's capture time (`audio_start`)."""
        audio = [p for p in _by_sequence(self.packets) if p.payload_type in (PCMU, PCMA)]
        if not audio:
            return np.zeros(0)
        positions = _positions(audio)
        total = max(pos + len(p.payload) for pos, p in zip(positions, audio, strict=True))
        out = np.zeros(total)
        for pos, packet in zip(positions, audio, strict=True):
            table = _ULAW if packet.payload_type == PCMU else _ALAW
            out[pos : pos + len(packet.payload)] = table[np.frombuffer(packet.payload, np.uint8)]
        return out / 32768.0

    @property
    def audio_start(self) -> float:
        audio = [p for p in _by_sequence(self.packets) if p.payload_type in (PCMU, PCMA)]
        return audio[0].time if audio else self.start

    def dtmf(self, event_pt: int = TELEPHONE_EVENT) -> list[DtmfEvent]:
        """The RFC 4733 events of payload type `event_pt`, one per event (retransmissions of
        the same event share its RTP timestamp)."""
        events: dict[int, DtmfEvent] = {}
        for packet in _by_sequence(self.packets):
            if packet.payload_type != event_pt or len(packet.payload) < 4:
                continue
            code, flags, duration = struct.unpack_from(">BBH", packet.payload, 0)
            digit = EVENT_NAMES[code] if code < len(EVENT_NAMES) else f"event:{code}"
            seen = events.get(packet.timestamp)
            events[packet.timestamp] = DtmfEvent(
                digit=digit,
                time=seen.time if seen else packet.time,
                duration=max(duration / RATE, seen.duration if seen else 0.0),
                ended=bool(flags & 0x80) or (seen.ended if seen else False),
            )
        return sorted(events.values(), key=lambda e: e.time)

    def digits(self, event_pt: int = TELEPHONE_EVENT) -> str:
        return "".join(e.digit for e in self.dtmf(event_pt))


def rtp_streams(datagrams: Iterable[Datagram]) -> list[RtpStream]:
    """RTP streams keyed by (source, destination, SSRC), in order of their first packet."""
    streams: dict[tuple[Address, Address, int], RtpStream] = {}
    for datagram in datagrams:
        packet = parse_rtp(datagram)
        if packet is None:
            continue
        key = (packet.src, packet.dst, packet.ssrc)
        streams.setdefault(key, RtpStream(*key)).packets.append(packet)
    return list(streams.values())


def received(
    streams: Iterable[RtpStream],
    dst: Address | Callable[[Address], bool],
    start: float | None = None,
) -> npt.NDArray[np.float64]:
    """All audio sent to `dst` (an address, or a test on it such as a phone's port range) on
    one 8 kHz timeline from `start` (capture time; default the first packet to `dst`), each
    stream placed by its capture time and mixed: a party hears prompts, hold music and the
    agent as one line even when the sender switches SSRC or port."""
    mine = [s for s in streams if (dst(s.dst) if callable(dst) else s.dst == dst)]
    if not mine:
        return np.zeros(0)
    origin = min(s.start for s in mine) if start is None else start
    parts = [(max(round((s.audio_start - origin) * RATE), 0), s.pcm()) for s in mine]
    out = np.zeros(max((at + len(pcm) for at, pcm in parts), default=0))
    for at, pcm in parts:
        out[at : at + len(pcm)] += pcm
    return out


def digits_to(streams: Iterable[RtpStream], dst: Address | Callable[[Address], bool]) -> str:
    """The RFC 4733 digits sent to `dst` (as for `received`), in time order."""
    mine = [s for s in streams if (dst(s.dst) if callable(dst) else s.dst == dst)]
    events = [e for s in mine for e in s.dtmf()]
    return "".join(e.digit for e in sorted(events, key=lambda e: e.time))


def _by_sequence(packets: list[RtpPacket]) -> list[RtpPacket]:
    """Packets sorted by extended (wrap-corrected) sequence number, duplicates dropped."""
    extended: dict[int, RtpPacket] = {}
    cycles, last = 0, None
    for packet in packets:
        if last is not None:
            delta = (packet.seq - last) & 0xFFFF
            if delta < 0x8000 and packet.seq < last:
                cycles += 1  # forward across the wrap
            elif delta >= 0x8000 and packet.seq > last:
                extended.setdefault((cycles - 1) * 0x10000 + packet.seq, packet)
                continue  # late packet from before the wrap
        last = packet.seq
        extended.setdefault(cycles * 0x10000 + packet.seq, packet)
    return [extended[k] for k in sorted(extended)]


def _positions(audio: list[RtpPacket]) -> list[int]:
    """Sample offsets by RTP timestamp; a timestamp jump that disagrees with the capture
    clock by more than a second (a sender that re-bases, as a bridge may) re-anchors on the
    capture time."""
    anchor_ts, anchor_pos, t0 = audio[0].timestamp, 0, audio[0].time
    positions: list[int] = []
    for packet in audio:
        pos = anchor_pos + ((packet.timestamp - anchor_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        by_clock = round((packet.time - t0) * RATE)
        if abs(pos - by_clock) > RATE or pos < 0:
            anchor_ts, anchor_pos, pos = packet.timestamp, max(by_clock, 0), max(by_clock, 0)
        positions.append(pos)
    return positions


def _ulaw_table() -> npt.NDArray[np.float64]:
    codes = np.arange(256, dtype=np.int32) ^ 0xFF
    exponent, mantissa = (codes >> 4) & 0x07, codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.float64)


def _alaw_table() -> npt.NDArray[np.float64]:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    exponent, mantissa = (codes >> 4) & 0x07, codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.float64)


_ULAW, _ALAW = _ulaw_table(), _alaw_table()


def encode_ulaw(samples: npt.NDArray[np.float64]) -> bytes:
    """Floats in [-1, 1] as G.711 µ-law bytes (nearest code by table search)."""
    order = np.argsort(_ULAW)
    values = np.clip(samples, -1.0, 1.0) * 32768.0
    index = np.clip(np.searchsorted(_ULAW[order], values), 1, 255)
    lower, upper = _ULAW[order][index - 1], _ULAW[order][index]
    nearest = np.where(values - lower < upper - values, index - 1, index)
    return bytes(order[nearest].astype(np.uint8))


# --- capture -------------------------------------------------------------------------------


class Capture:
    """tcpdump on loopback writing `path`, for UDP in `ports` (a range: SIP and RTP both if
    wanted), bounded to `max_seconds` and `max_packets`. Entering waits until tcpdump says it
    is listening; leaving stops it (SIGINT flushes the file)."""

    def __init__(
        self,
        path: Path,
        ports: tuple[int, int],
        *,
        interface: str = "lo",
        max_seconds: int = 120,
        max_packets: int = 200_000,
    ) -> None:
        self.path = Path(path)
        self.ports = ports
        self.command = [
            "tcpdump", "-i", interface, "-n", "-U", "--immediate-mode", "-Z", "root",
            "-w", str(self.path), "-c", str(max_packets), "-G", str(max_seconds), "-W", "1",
            f"udp and portrange {ports[0]}-{ports[1]}",
        ]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None
        self.stderr = ""

    def __enter__(self) -> Capture:
        try:
            process = subprocess.Popen(
                self.command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise CaptureError("tcpdump is not installed: run scripts/system-deps.sh") from exc
        self._process = process
        assert process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stderr, selectors.EVENT_READ)
        deadline, text = time.monotonic() + 10, b""
        while b"listening on" not in text:
            left = deadline - time.monotonic()
            if left <= 0 or process.poll() is not None or not selector.select(left):
                self._stop()
                raise CaptureError(f"tcpdump did not start listening: {text.decode()!r}")
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                continue
            text += chunk
        self.stderr = text.decode()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        time.sleep(0.2)  # the last packets of the call reach tcpdump
        self._stop()

    def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        assert process.stderr is not None
        self.stderr += process.stderr.read().decode(errors="replace")
        process.stderr.close()
        self._process = None

    def datagrams(self) -> list[Datagram]:
        return read_pcap(self.path)

    def streams(self) -> list[RtpStream]:
        return rtp_streams(self.datagrams())

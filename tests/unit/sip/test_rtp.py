"""The pcap reader, RTP parser and G.711 / RFC 4733 decoding, on hand-made bytes."""

import struct
from pathlib import Path

import numpy as np
import pytest

from ivr.sandbox.calls.sip.rtp import (
    PCMA,
    PCMU,
    CaptureError,
    Datagram,
    digits_to,
    encode_ulaw,
    parse_rtp,
    read_pcap,
    received,
    rtp_streams,
)

SRC, DST = ("127.0.0.1", 6000), ("127.0.0.2", 7000)


def rtp(
    seq: int,
    ts: int,
    payload: bytes,
    *,
    pt: int = PCMU,
    ssrc: int = 0x1234,
    marker: bool = False,
    csrcs: tuple[int, ...] = (),
    extension: bytes | None = None,
    padding: int = 0,
) -> bytes:
    first = 0x80 | len(csrcs) | (0x10 if extension is not None else 0) | (0x20 if padding else 0)
    out = struct.pack(">BBHII", first, pt | (0x80 if marker else 0), seq, ts, ssrc)
    out += b"".join(struct.pack(">I", c) for c in csrcs)
    if extension is not None:
        out += struct.pack(">HH", 0xBEDE, len(extension) // 4) + extension
    out += payload
    if padding:
        out += b"\0" * (padding - 1) + bytes([padding])
    return out


def ipv4_udp(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    udp = struct.pack(">HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    addr = bytes(int(x) for x in src[0].split(".")) + bytes(int(x) for x in dst[0].split("."))
    return struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0) + addr + udp


def pcap(linktype: int, frames: list[tuple[float, bytes]], endian: str = "<") -> bytes:
    out = struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for stamp, frame in frames:
        sec = int(stamp)
        usec = round((stamp - sec) * 1e6)
        out += struct.pack(endian + "IIII", sec, usec, len(frame), len(frame)) + frame
    return out


LINK_HEADERS = {
    1: b"\0" * 12 + b"\x08\x00",  # Ethernet, as tcpdump -i lo writes
    0: struct.pack("<I", 2),  # BSD loopback
    113: b"\0" * 14 + b"\x08\x00",  # Linux cooked v1
    276: b"\x08\x00" + b"\0" * 18,  # Linux cooked v2 (tcpdump -i any)
    101: b"",  # raw IP
}


@pytest.mark.parametrize("linktype", sorted(LINK_HEADERS))
@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcap_link_types_give_the_udp_datagrams(tmp_path: Path, linktype: int, endian: str) -> None:
    frames = [(100.25, LINK_HEADERS[linktype] + ipv4_udp(SRC, DST, b"hello"))]
    frames.append((100.5, LINK_HEADERS[linktype] + ipv4_udp(DST, SRC, b"back")))
    (tmp_path / "c.pcap").write_bytes(pcap(linktype, frames, endian))
    assert read_pcap(tmp_path / "c.pcap") == [
        Datagram(100.25, SRC, DST, b"hello"),
        Datagram(100.5, DST, SRC, b"back"),
    ]


def test_not_a_pcap_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.pcap").write_bytes(b"INVITE sip:x SIP/2.0\r\n" * 2)
    with pytest.raises(CaptureError, match="not a pcap file"):
        read_pcap(tmp_path / "x.pcap")


def test_rtp_header_csrc_extension_and_padding() -> None:
    raw = rtp(7, 160, b"\x01\x02\x03", csrcs=(1, 2), extension=b"abcd", padding=4, marker=True)
    packet = parse_rtp(Datagram(1.0, SRC, DST, raw))
    assert packet is not None
    assert (packet.seq, packet.timestamp, packet.ssrc, packet.marker) == (7, 160, 0x1234, True)
    assert packet.csrcs == (1, 2)
    assert packet.extension == (0xBEDE, b"abcd")
    assert packet.payload == b"\x01\x02\x03"


@pytest.mark.parametrize(
    "raw",
    [
        b"INVITE sip:100@127.0.0.1 SIP/2.0\r\n",
        b"SIP/2.0 200 OK\r\n",
        struct.pack(">BBH", 0x80, 200, 6) + b"\0" * 24,  # RTCP sender report
        b"\x80\x00\x00",  # too short
    ],
)
def test_non_rtp_is_not_rtp(raw: bytes) -> None:
    assert parse_rtp(Datagram(0.0, SRC, DST, raw)) is None


def test_streams_are_keyed_by_source_destination_and_ssrc() -> None:
    datagrams = [
        Datagram(0.00, SRC, DST, rtp(1, 0, b"\xff" * 160)),
        Datagram(0.00, DST, SRC, rtp(9, 0, b"\xff" * 160, ssrc=9)),
        Datagram(0.02, SRC, DST, rtp(2, 160, b"\xff" * 160)),
        Datagram(0.02, SRC, DST, rtp(1, 0, b"\xd5" * 160, pt=PCMA, ssrc=5)),
    ]
    streams = rtp_streams(datagrams)
    assert [(s.src, s.dst, s.ssrc, len(s.packets)) for s in streams] == [
        (SRC, DST, 0x1234, 2),
        (DST, SRC, 9, 1),
        (SRC, DST, 5, 1),
    ]
    assert streams[2].payload_types == {PCMA}


def test_pcm_orders_by_sequence_across_the_wrap_and_fills_gaps_with_silence() -> None:
    tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(160 * 4) / 8000)
    chunks = [encode_ulaw(tone[i * 160 : (i + 1) * 160]) for i in range(4)]
    base_ts = 0xFFFFFF00  # the timestamp wraps too
    sent = [(0xFFFE, 0), (0xFFFF, 1), (1, 3)]  # chunk 2 (seq 0) is lost; 1 arrives late
    order = [sent[0], sent[2], sent[1]]
    datagrams = [
        Datagram(0.02 * i, SRC, DST, rtp(seq, (base_ts + 160 * n) & 0xFFFFFFFF, chunks[n]))
        for seq, n in order
        for i in [n]
    ]
    (stream,) = rtp_streams(datagrams)
    pcm = stream.pcm()
    assert len(pcm) == 640
    assert np.allclose(pcm[:320], tone[:320], atol=0.02)
    assert np.all(pcm[320:480] == 0)
    assert np.allclose(pcm[480:], tone[480:], atol=0.02)


def test_alaw_and_ulaw_decode_silence_and_extremes() -> None:
    datagrams = [
        Datagram(0.0, SRC, DST, rtp(1, 0, b"\xff\x7f\x00\x80")),
        Datagram(0.0, DST, SRC, rtp(1, 0, b"\xd5\x55\xaa\x2a", pt=PCMA, ssrc=2)),
    ]
    ulaw, alaw = (s.pcm() * 32768 for s in rtp_streams(datagrams))
    assert list(ulaw) == [0, 0, -32124, 32124]
    assert list(alaw) == [8, -8, 32256, -32256]


def test_a_timestamp_jump_is_re_anchored_on_the_capture_clock() -> None:
    datagrams = [
        Datagram(0.00, SRC, DST, rtp(1, 0, b"\x80" * 160)),
        Datagram(0.02, SRC, DST, rtp(2, 5_000_000, b"\x80" * 160)),  # a bridge re-based it
    ]
    (stream,) = rtp_streams(datagrams)
    assert len(stream.pcm()) == 320


def event(digit: int, end: bool, duration: int) -> bytes:
    return struct.pack(">BBH", digit, (0x80 if end else 0) | 10, duration)


def test_rfc4733_events_become_digits_once_each() -> None:
    packets = [
        (0.00, 1, 1000, event(4, False, 160)),
        (0.02, 2, 1000, event(4, False, 320)),
        (0.04, 3, 1000, event(4, True, 800)),
        (0.05, 4, 1000, event(4, True, 800)),  # the end is sent three times
        (0.30, 5, 4000, event(11, True, 400)),
        (0.60, 6, 8000, event(10, False, 160)),  # a star cut short: no end seen
    ]
    datagrams = [
        Datagram(t, SRC, DST, rtp(seq, ts, payload, pt=101)) for t, seq, ts, payload in packets
    ]
    (stream,) = rtp_streams(datagrams)
    assert stream.digits() == "4#*"
    events = stream.dtmf()
    assert [(e.time, e.duration, e.ended) for e in events] == [
        (0.0, 0.1, True),
        (0.3, 0.05, True),
        (0.6, 0.02, False),
    ]
    assert len(stream.pcm()) == 0  # telephone-event is not audio


@pytest.mark.parametrize("name,digit", [(str(d), str(d)) for d in range(10)] + [
    ("star", "*"), ("pound", "#")])  # fmt: skip
def test_sipp_dtmf_pcaps_decode_to_their_digit(name: str, digit: str) -> None:
    (stream,) = rtp_streams(read_pcap(Path(f"/usr/share/sip-tester/dtmf_2833_{name}.pcap")))
    assert stream.digits() == digit


def test_received_joins_a_partys_streams_on_the_capture_clock() -> None:
    prompt = encode_ulaw(0.5 * np.ones(160))
    agent = encode_ulaw(-0.5 * np.ones(160))
    datagrams = [
        Datagram(10.00, SRC, DST, rtp(1, 0, prompt, ssrc=1)),
        Datagram(10.00, SRC, DST, rtp(2, 100, event(1, True, 160), pt=101, ssrc=1)),
        Datagram(10.50, SRC, DST, rtp(70, 9000, agent, ssrc=2)),  # a new SSRC after bridging
        Datagram(10.60, SRC, DST, rtp(71, 9160, event(9, True, 160), pt=101, ssrc=2)),
        Datagram(10.20, DST, SRC, rtp(1, 0, prompt, ssrc=3)),  # the other direction
    ]
    streams = rtp_streams(datagrams)
    line = received(streams, DST)
    assert len(line) == 4160
    assert np.all(line[:160] > 0.4)
    assert np.all(line[160:4000] == 0)
    assert np.all(line[4000:] < -0.4)
    assert digits_to(streams, DST) == "19"
    assert len(received(streams, DST, start=9.0)) == 12160
    assert len(received(streams, ("127.0.0.9", 1))) == 0


def pcapng(frames: list[tuple[float, bytes]]) -> bytes:
    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))  # Ethernet, microsecond stamps
    for stamp, frame in frames:
        micros = round(stamp * 1e6)
        head = struct.pack("<IIIII", 0, micros >> 32, micros & 0xFFFFFFFF, len(frame), len(frame))
        out += block(6, head + frame)
    return out


def test_pcapng_gives_the_udp_datagrams(tmp_path: Path) -> None:
    frame = LINK_HEADERS[1] + ipv4_udp(SRC, DST, b"ng")
    (tmp_path / "c.pcapng").write_bytes(pcapng([(1700000000.5, frame)]))
    assert read_pcap(tmp_path / "c.pcapng") == [Datagram(1700000000.5, SRC, DST, b"ng")]

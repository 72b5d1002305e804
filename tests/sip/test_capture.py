"""The loopback capture sees what a socket sends, with tcpdump started before the first packet."""

import socket
import time
from pathlib import Path

from ivr.sandbox.calls.sip.rtp import Capture
from tests.unit.sip.test_rtp import rtp


def test_capture_gets_every_packet_sent_after_enter(tmp_path: Path) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        Capture(tmp_path / "c.pcap", (31000, 31010), max_seconds=20) as capture,
    ):
        sock.bind(("127.0.0.1", 31000))
        for i in range(5):
            sock.sendto(rtp(i, i * 160, b"\xff" * 160), ("127.0.0.1", 31002))
            time.sleep(0.02)
        sock.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ("127.0.0.1", 31002))
    assert "listening on lo" in capture.stderr
    (stream,) = capture.streams()
    assert (stream.src, stream.dst, len(stream.packets)) == (
        ("127.0.0.1", 31000),
        ("127.0.0.1", 31002),
        5,
    )
    assert len(capture.datagrams()) == 6

"""The SIP test kit proven without Asterisk: SIPp and baresip call each other on loopback,
the capture decodes what each side received, the phone's recording is judged, digits are
seen where they went, and digest registration works against a SIPp registrar."""

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from ivr.sandbox.calls.sip import audio
from ivr.sandbox.calls.sip.baresip import BaresipError, Phone
from ivr.sandbox.calls.sip.plan import MediaPlan, Press
from ivr.sandbox.calls.sip.rtp import Capture, RtpStream, received
from ivr.sandbox.calls.sip.sipp import Sipp, scenario

CALLER, CALLER_MEDIA = ("127.0.0.1", 25070), ("127.0.0.1", 25072)
CARRIER, CARRIER_MEDIA = ("127.0.0.2", 25070), ("127.0.0.2", 25072)  # as a trunk would call
PHONE_SIP, PHONE_MEDIA = 25080, 25082


def voice(frequency: float, at: float, seconds: float = 1.0) -> audio.Samples:
    return np.concatenate([audio.silence(at), audio.tone(frequency, seconds, level_db=-15)])


def one_stream(streams: list[RtpStream], src: tuple[str, int] | None = None,
               dst: tuple[str, int] | None = None) -> RtpStream:  # fmt: skip
    found = [s for s in streams if (src is None or s.src == src) and (dst is None or s.dst == dst)]
    assert len(found) == 1, [(s.src, s.dst, s.ssrc) for s in streams]
    return found[0]


def test_sipp_caller_from_a_carrier_address_and_sipp_phone_hear_each_other(tmp_path: Path) -> None:
    caller_plan = MediaPlan(audio=voice(425, 0.5), presses=(Press("1", 2.0), Press("#", 2.5)))
    phone_plan = MediaPlan(audio=voice(1000, 0.5))
    uas = scenario("phone", tmp_path / "uas", plan=phone_plan, ring=0.5, hold=10)
    uac = scenario("caller", tmp_path / "uac", plan=caller_plan, hold=4)
    with (
        Capture(tmp_path / "call.pcap", (25070, 25090), max_seconds=30) as capture,
        Sipp(uas, local_port=PHONE_SIP, media_port=PHONE_MEDIA, timeout=20) as phone,
        Sipp(uac, target=f"127.0.0.1:{PHONE_SIP}", local_ip=CARRIER[0], local_port=CARRIER[1],
             media_port=CARRIER_MEDIA[1], timeout=20) as caller,
    ):  # fmt: skip
        caller.wait().check()
        phone.wait().check()
    streams = capture.streams()
    to_phone = one_stream(streams, src=CARRIER_MEDIA, dst=("127.0.0.1", PHONE_MEDIA))
    to_caller = one_stream(streams, dst=CARRIER_MEDIA)
    assert np.array_equal(received(streams, CARRIER_MEDIA), to_caller.pcm())
    assert to_phone.digits() == "1#"
    assert to_caller.digits() == ""
    (beep,) = audio.tone_spans(to_caller.pcm(), 1000)
    assert (beep.start, beep.duration) == pytest.approx((0.5, 1.0), abs=0.06)
    assert audio.tone_spans(to_caller.pcm(), 425) == []
    (hum,) = audio.tone_spans(to_phone.pcm(), 425)
    assert (hum.start, hum.duration) == pytest.approx((0.5, 1.0), abs=0.06)
    assert hum.level_db == pytest.approx(-15, abs=0.5)  # G.711 keeps the level
    assert audio.tone_spans(to_phone.pcm(), 1000) == []


def test_baresip_answers_after_its_delay_and_each_side_gets_the_others_audio(
    tmp_path: Path,
) -> None:
    plan = MediaPlan(audio=voice(425, 0.5, 1.5), presses=(Press("5", 2.5),))
    uac = scenario("caller", tmp_path / "uac", plan=plan, hold=6)
    with (
        Capture(tmp_path / "call.pcap", (25070, 25072), max_seconds=30) as capture,
        Phone(tmp_path / "phone", "agent1", sip_port=PHONE_SIP, registrar=None,
              answer_after=1.5, audio=voice(1000, 1.0), rtp_ports=(25100, 25199)) as phone,
    ):  # fmt: skip
        target = f"127.0.0.1:{PHONE_SIP}"
        with Sipp(uac, target=target, service="agent1", local_port=CALLER[1],
                  media_port=CALLER_MEDIA[1], timeout=20) as caller:  # fmt: skip
            ringing = phone.wait_for("CALL_INCOMING")
            answered = phone.wait_for("CALL_ESTABLISHED", 5)
            time.sleep(3.5)
            phone.send_digits("7#")
            caller.wait().check()
        phone.wait_for("CALL_CLOSED", 5)
    delay = answered["time"] - ringing["time"]
    assert 1.45 <= delay <= 2.5, delay  # never early; late only by this busy box's latency
    assert ringing["param"] == "sip:0241234567@127.0.0.1:25070"
    assert [e["param"] for e in phone.events if e["type"] == "CALL_DTMF_START"] == ["5"]

    from_phone = one_stream(capture.streams(), dst=CALLER_MEDIA)
    assert [(e.digit, e.ended) for e in from_phone.dtmf()] == [("7", True), ("#", True)]
    assert [e.duration for e in from_phone.dtmf()] == pytest.approx([0.12, 0.12], abs=0.06)
    (beep,) = audio.tone_spans(from_phone.pcm(), 1000)
    assert (beep.start, beep.duration) == pytest.approx((1.0, 1.0), abs=0.1)
    assert audio.tone_spans(from_phone.pcm(), 425) == []

    heard = received(capture.streams(), phone.is_media)
    (hum,) = audio.tone_spans(heard, 425)
    assert (hum.start, hum.duration) == pytest.approx((0.5, 1.5), abs=0.1)

    (recording,) = phone.received_audio()
    recorded, rate = audio.read_wav(recording)
    (hum,) = audio.tone_spans(recorded, 425, rate)
    assert hum.duration == pytest.approx(1.5, abs=0.1)
    assert hum.level_db == pytest.approx(-15, abs=1)
    assert audio.tone_spans(recorded, 1000, rate) == []


def test_baresip_dials_out_and_hangs_up_on_command(tmp_path: Path) -> None:
    uas = scenario("phone", tmp_path / "uas", ring=0.5, hold=30)
    with (
        Sipp(uas, local_port=PHONE_SIP, media_port=PHONE_MEDIA, timeout=20) as far_end,
        Phone(tmp_path / "phone", "super1", sip_port=25090, registrar=None,
              rtp_ports=(25100, 25199)) as phone,
    ):  # fmt: skip
        phone.dial(f"sip:200@127.0.0.1:{PHONE_SIP}")
        phone.wait_for("CALL_RINGING", 5)
        phone.wait_for("CALL_ESTABLISHED", 5)
        phone.hangup()
        result = far_end.wait(10).check()
        phone.wait_for("CALL_CLOSED", 5)
    assert "BYE sip:" in result.messages


def test_phone_registers_with_digest_and_a_wrong_password_is_refused(tmp_path: Path) -> None:
    registrar = scenario("registrar", tmp_path / "reg", user="agent7", password="s3cret")
    with (
        Sipp(registrar, local_port=25094, timeout=15) as sipp,
        Phone(tmp_path / "good", "agent7", sip_port=25096, registrar="127.0.0.1:25094",
              password="s3cret", rtp_ports=(25100, 25199)) as phone,
    ):  # fmt: skip
        assert phone.registered(5)["param"] == "200 OK"
        sipp.wait(10).check()
    with (
        Sipp(registrar, local_port=25094, timeout=15) as sipp,
        Phone(tmp_path / "bad", "agent7", sip_port=25096, registrar="127.0.0.1:25094",
              password="guess", rtp_ports=(25100, 25199)) as phone,
    ):  # fmt: skip
        with pytest.raises(BaresipError, match="403 Forbidden"):
            phone.registered(5)
        assert sipp.wait(10).successful == 0


def test_a_phone_in_a_call_lets_a_second_call_ring(tmp_path: Path) -> None:
    first = scenario("caller", tmp_path / "first", hold=5)
    second = scenario("caller", tmp_path / "second", hold=1, answer_timeout=2.5)
    target = f"127.0.0.1:{PHONE_SIP}"
    with Phone(tmp_path / "phone", "agent2", sip_port=PHONE_SIP, registrar=None,
               answer_after=0.5, rtp_ports=(25100, 25199)) as phone:  # fmt: skip
        with Sipp(first, target=target, service="agent2", local_port=25070, media_port=25072,
                  timeout=15) as one:  # fmt: skip
            established = phone.wait_for("CALL_ESTABLISHED", 5)
            with Sipp(second, target=target, service="agent2", local_port=25060,
                      media_port=25062, timeout=15) as two:  # fmt: skip
                ringing = phone.wait_for("CALL_INCOMING", 5, lambda e: e["id"] != established["id"])
                time.sleep(1.0)  # past answer_after
                assert phone.calls("ringing") == {ringing["id"]}
                assert phone.calls("established") == {established["id"]}
                refused = two.wait(10)
            one.wait(10).check()
        assert (refused.successful, refused.failed) == (0, 1)
        assert phone.count("CALL_ESTABLISHED") == 1


def test_caller_presses_each_group_of_keys_on_a_notify(tmp_path: Path) -> None:
    uas = scenario("phone", tmp_path / "uas", ring=0.2, hold=1.5, notify_after=(1.0, 1.0))
    uac = scenario("caller", tmp_path / "uac", hold=30, keys_on_notify=("2", "34"))
    with (
        Capture(tmp_path / "call.pcap", (25070, 25090), max_seconds=30) as capture,
        Sipp(uas, local_port=PHONE_SIP, media_port=PHONE_MEDIA, timeout=20) as phone,
        Sipp(uac, target=f"127.0.0.1:{PHONE_SIP}", local_port=CALLER[1],
             media_port=CALLER_MEDIA[1], timeout=20) as caller,
    ):  # fmt: skip
        phone.wait().check()
        caller.wait().check()  # the phone hung up: the caller took the BYE
    events = sorted((e for s in capture.streams() for e in s.dtmf()), key=lambda e: e.time)
    assert [e.digit for e in events] == ["2", "3", "4"]
    gaps = [b.time - a.time for a, b in itertools.pairwise(events)]
    assert gaps == pytest.approx([1.0, 0.25], abs=0.08)  # NOTIFYs 1 s apart, keys 0.25 s


def test_a_ringing_phone_takes_the_callers_cancel(tmp_path: Path) -> None:
    ringing = scenario("ringing", tmp_path / "uas")
    caller = scenario("caller", tmp_path / "uac", answer_timeout=1.0)
    with Sipp(ringing, local_port=25280, media_port=25282, timeout=10) as phone:
        with Sipp(caller, target="127.0.0.1:25280", local_port=25270, media_port=25272,
                  timeout=10) as uac:  # fmt: skip
            gave_up = uac.wait(10)
        rang = phone.wait(10).check(1)
    assert (gave_up.successful, gave_up.failed) == (0, 1), gave_up.output[-500:]
    assert "SIP/2.0 487 Request Terminated" in rang.messages

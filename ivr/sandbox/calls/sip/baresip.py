"""baresip (Debian 1.0.0) as a headless phone: an agent's or supervisor's SIP phone that
registers, rings, auto-answers after a delay, sends RFC 4733 digits, hangs up on command, and
records what it receives.

Audio without a sound card: the microphone is `aufile` playing a WAV made from the phone's
`audio` (padded with silence), the speaker is ALSA's `null` device, and the `sndfile` filter
dumps each call's decoded received audio to `dump-<time>-dec.wav` (what it sent: `-enc.wav`).
Control: `ctrl_tcp` (JSON in netstrings: commands in, events such as CALL_INCOMING out) and
`cons` (key presses over UDP: the digits sent as DTMF).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ivr.sandbox.calls.sip.audio import Samples, write_wav

Event = dict[str, Any]


class BaresipError(RuntimeError):
    """baresip is missing, did not start, or an awaited event did not come."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Phone:
    """One baresip process with one account `user`. `registrar` ("host:port") makes it
    register with digest `password`; None listens only (a peer calls it directly at
    `sip:user@127.0.0.1:sip_port`). `answer_after` seconds after an incoming call starts
    ringing, it answers (None: it rings until the caller gives up or `hangup()`), unless it
    is already in a call and not `answer_when_busy`: then the new call rings on."""

    def __init__(
        self,
        directory: Path,
        user: str,
        *,
        sip_port: int,
        registrar: str | None = "127.0.0.1:5060",
        password: str | None = None,
        answer_after: float | None = 1.0,
        answer_when_busy: bool = False,
        audio: Samples | None = None,
        audio_seconds: float = 120.0,
        rtp_ports: tuple[int, int] = (16100, 16199),
        regint: int = 60,
        max_seconds: int = 300,
    ) -> None:
        if not shutil.which("baresip"):
            raise BaresipError("baresip is not installed (Debian: baresip): scripts/system-deps.sh")
        self.dir = Path(directory)
        self.user = user
        self.sip_port = sip_port
        self.answer_after = answer_after
        self.answer_when_busy = answer_when_busy
        self.rtp_ports = rtp_ports
        self.records = self.dir / "recordings"
        self.log = self.dir / "baresip.log"
        self.events: list[Event] = []
        self._ctrl_port, self._cons_port = free_port(), free_port()
        self._cond = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None
        self._timers: list[threading.Timer] = []
        self._write_config(registrar, password, audio, audio_seconds, rtp_ports, regint)
        self._command = ["baresip", "-f", str(self.dir), "-t", str(max_seconds)]

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    def _write_config(
        self,
        registrar: str | None,
        password: str | None,
        audio: Samples | None,
        audio_seconds: float,
        rtp_ports: tuple[int, int],
        regint: int,
    ) -> None:
        self.records.mkdir(parents=True, exist_ok=True)
        samples = np.zeros(round(audio_seconds * 8000))
        if audio is not None:
            samples[: len(audio)] = audio[: len(samples)]
        microphone = write_wav(self.dir / "microphone.wav", samples)
        config = {
            "poll_method": "epoll",
            "net_interface": "127.0.0.1",  # SDP and Contact say 127.0.0.1, not the LAN address
            "sip_listen": f"127.0.0.1:{self.sip_port}",
            "call_local_timeout": "120",
            "call_max_calls": "4",
            "audio_player": "alsa,null",
            "audio_alert": "alsa,null",
            "audio_source": f"aufile,{microphone}",
            "ausrc_srate": "8000",
            "auplay_srate": "8000",
            "audio_level": "no",
            "rtp_ports": f"{rtp_ports[0]}-{rtp_ports[1]}",
            "jitter_buffer_delay": "1-5",
            "module_path": "/usr/lib/baresip/modules",
            "ctrl_tcp_listen": f"127.0.0.1:{self._ctrl_port}",
            "cons_listen": f"127.0.0.1:{self._cons_port}",
            "snd_path": str(self.records),
            "statmode_default": "off",  # no call-status line every 100 ms in the log
        }
        lines = [f"{k}\t{v}" for k, v in config.items()]
        lines += [f"module\t{m}.so" for m in ("g711", "aufile", "alsa", "sndfile", "cons")]
        lines += ["module_tmp\taccount.so", "module_app\tmenu.so", "module_app\tctrl_tcp.so"]
        (self.dir / "config").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if registrar is None:
            account = f"<sip:{self.user}@127.0.0.1:{self.sip_port}>;regint=0"
        else:
            account = f"<sip:{self.user}@{registrar}>;regint={regint}"
            if password is not None:
                account += f";auth_pass={password}"
        # created over ctrl_tcp once connected, so its registration events are seen
        self._account = account + ";answermode=manual;audio_codecs=PCMU;mwi=no;pubint=0"
        (self.dir / "accounts").write_text("", encoding="utf-8")

    # --- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Phone:
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                self._command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while self._ctrl is None:
            try:
                self._ctrl = socket.create_connection(("127.0.0.1", self._ctrl_port), timeout=1)
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self._kill()
                    raise BaresipError(f"baresip did not start: {self.output()[-2000:]}") from None
                time.sleep(0.1)
        self._ctrl.settimeout(None)
        threading.Thread(target=self._read_events, daemon=True).start()
        self.command("uanew", self._account)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._process is not None and self._process.poll() is None:
            self.command("quit")
            try:
                self._process.wait(3)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def _kill(self) -> None:
        if self._ctrl is not None:
            self._ctrl.close()
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # --- control ----------------------------------------------------------------------------

    def command(self, name: str, params: str = "") -> None:
        """A ctrl_tcp long command (accept, hangup, dial <uri>, quit, ...), fire and forget."""
        if self._ctrl is None:
            raise BaresipError("phone not started")
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        try:
            self._ctrl.sendall(b"%d:%s," % (len(body), body))
        except OSError as exc:
            raise BaresipError(f"{self.user}: ctrl_tcp: {exc}") from exc

    def accept(self) -> None:
        self.command("accept")

    def hangup(self) -> None:
        self.command("hangup")

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def send_digits(self, keys: str, press: float = 0.12, gap: float = 0.2) -> None:
        """Digits pressed on the keypad during a call, each held `press` seconds then
        released (KEYCODE_REL, which ends the RFC 4733 event), `gap` seconds apart."""
        if any(key not in "0123456789*#ABCD" for key in keys):
            raise ValueError(f"not DTMF keys: {keys!r}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for key in keys:
                sock.sendto(key.encode(), ("127.0.0.1", self._cons_port))
                time.sleep(press)
                sock.sendto(b"\x04", ("127.0.0.1", self._cons_port))  # baresip's KEYCODE_REL
                time.sleep(gap)

    def wait_for(
        self,
        kind: str,
        timeout: float = 10.0,
        where: Callable[[Event], bool] = lambda e: True,
        fail_on: tuple[str, ...] = (),
    ) -> Event:
        """The first event of type `kind` (REGISTER_OK, CALL_INCOMING, CALL_ESTABLISHED,
        CALL_CLOSED, CALL_DTMF_START...) matching `where`, seen since the phone started;
        BaresipError after `timeout` or at once on an event of a type in `fail_on`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if event.get("type") == kind and where(event):
                        return event
                failed = [e for e in self.events if e.get("type") in fail_on]
                left = deadline - time.monotonic()
                if left <= 0 or failed:
                    seen = [e.get("type") for e in self.events]
                    raise BaresipError(
                        f"{self.user}: no {kind} within {timeout} s; events {seen} {failed}\n"
                        f"--- baresip output ---\n{self.output()[-3000:]}"
                    )
                self._cond.wait(left)

    def registered(self, timeout: float = 10.0) -> Event:
        return self.wait_for("REGISTER_OK", timeout, fail_on=("REGISTER_FAIL",))

    def count(self, kind: str) -> int:
        with self._cond:
            return sum(1 for e in self.events if e.get("type") == kind)

    def calls(self, state: str) -> set[str]:
        """Call ids now "ringing" (incoming, not answered) or "established", not yet closed."""
        with self._cond:
            closed = {e["id"] for e in self.events if e.get("type") == "CALL_CLOSED"}
            kind = {"ringing": "CALL_INCOMING", "established": "CALL_ESTABLISHED"}[state]
            ids = {e["id"] for e in self.events if e.get("type") == kind} - closed
            if state == "ringing":
                ids -= {e["id"] for e in self.events if e.get("type") == "CALL_ESTABLISHED"}
            return ids

    def is_media(self, address: tuple[str, int]) -> bool:
        """Whether `address` is one of this phone's RTP ports: `rtp.received(streams,
        phone.is_media)` is what it received, with its timing, from a capture."""
        return address[0] == "127.0.0.1" and self.rtp_ports[0] <= address[1] <= self.rtp_ports[1]

    def received_audio(self) -> list[Path]:
        """The WAV files of what this phone received, one per call, oldest first (named by
        the second the call started). Decoded packets only: a pause in the sender's RTP is
        not in the file, so judge timing from a capture (`is_media`)."""
        return sorted(self.records.glob("dump-*-dec.wav"))

    def sent_audio(self) -> list[Path]:
        return sorted(self.records.glob("dump-*-enc.wav"))

    def _read_events(self) -> None:
        assert self._ctrl is not None
        buffer = b""
        while True:
            try:
                chunk = self._ctrl.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b":" in buffer:
                head, rest = buffer.split(b":", 1)
                size = int(head)
                if len(rest) < size + 1:
                    break
                message, buffer = json.loads(rest[:size]), rest[size + 1 :]
                if message.get("event"):
                    message["time"] = time.time()
                    self._on_event(message)

    def _on_event(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        if event.get("type") == "CALL_INCOMING" and self.answer_after is not None:
            timer = threading.Timer(self.answer_after, self._auto_answer, (event["id"],))
            self._timers.append(timer)
            timer.start()

    def _auto_answer(self, call_id: str) -> None:
        if call_id not in self.calls("ringing"):
            return  # the caller gave up
        if self.calls("established") and not self.answer_when_busy:
            return  # a busy agent does not pick up a second call
        self.accept()

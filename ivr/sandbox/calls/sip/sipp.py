"""SIPp as a scripted SIP party: a caller (UAC) or a phone (UAS) from the templates in
scenarios/ here, playing a `MediaPlan` (audio + RFC 4733 digits) once the call is up.

`Sipp` starts one SIPp process (bounded by `-m` calls and `-timeout`) and `wait()`s for its
`SippResult`: exit code, successful/failed calls from its statistics file, and the SIP
messages and errors it logged, which `check()` puts into the failure message.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ivr.sandbox.calls.sip.audio import Samples
from ivr.sandbox.calls.sip.plan import MediaPlan

SCENARIOS = Path(__file__).parent / "scenarios"


class SippError(RuntimeError):
    """SIPp is missing, or a run failed (the message carries its logs)."""


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SippError("sipp is not installed (Debian package sip-tester): scripts/system-deps.sh")
    return path


def scenario(
    template: str,
    directory: Path,
    *,
    plan: MediaPlan | None = None,
    hold: float = 5.0,
    ring: float = 1.0,
    answer_timeout: float = 30.0,
    caller_id: str = "0241234567",
    caller_name: str = "SIPp caller",
    caller_host: str = "[local_ip]:[local_port]",
    user: str = "",
    password: str = "",
    keys_on_notify: Sequence[str] = (),
    notify_after: Sequence[float] = (),
    speech: Samples | None = None,
) -> Path:
    """The scenario `template` ("caller", "phone", "ringing" or "registrar") filled in, written into
    `directory`; with a `plan`, its pcap is written beside it and played once the call is up.
    `caller_host` is the host part of the From URI (e.g. anonymous.invalid).
    `user`/`password` are what the registrar accepts. The caller presses the i-th group of
    `keys_on_notify` (RFC 4733, 0.25 s apart) on the i-th in-dialog NOTIFY it receives; the
    phone sends an in-dialog NOTIFY (Event: ivr-press) at each of `notify_after` seconds
    (each counted from the previous one, the first from the ACK).
    `speech`: audio the caller keeps sending from the answer on (a caller who talks): SIPp
    plays one pcap at a time, so each group of keys is sent over it and it goes on after."""
    directory.mkdir(parents=True, exist_ok=True)
    play = ""
    if plan is None and speech is not None:
        plan = MediaPlan(audio=speech)
    if plan is not None:
        pcap = plan.write_pcap(directory / f"{template}-media.pcap")
        play = f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>'
    for value in (caller_id, caller_name, caller_host, user, password):
        if any(c in value for c in '<>"&\r\n'):
            raise ValueError(f"caller id/name {value!r}: no <, >, quotes, & or line breaks")
    on_notify = _on_notify(directory, keys_on_notify, speech)
    notify = _notify(notify_after)
    text = (SCENARIOS / f"{template}.xml").read_text(encoding="utf-8")
    filled = text.format(
        play=play,
        on_notify=on_notify,
        notify=notify,
        hold_ms=round(hold * 1000),
        ring_ms=round(ring * 1000),
        answer_timeout_ms=round(answer_timeout * 1000),
        caller_id=caller_id,
        caller_name=caller_name,
        caller_host=caller_host,
        user=user,
        password=password,
    )
    path = directory / f"{template}.xml"
    path.write_text(filled, encoding="utf-8")
    return path


def _on_notify(directory: Path, keys_on_notify: Sequence[str], speech: Samples | None) -> str:
    """The caller's steps answering each in-dialog NOTIFY with its group of keys (each group's
    pcap written into `directory`)."""
    return "".join(
        _ON_NOTIFY.format(pcap=_keys_plan(keys, speech, 0x5EED0100 + i)
                          .write_pcap(directory / f"notify-{i + 1}.pcap"))
        for i, keys in enumerate(keys_on_notify)
    )  # fmt: skip


def _notify(notify_after: Sequence[float]) -> str:
    """The phone's in-dialog NOTIFYs, each after its pause."""
    return "".join(
        _NOTIFY.format(pause_ms=round(after * 1000), cseq=10 + i)
        for i, after in enumerate(notify_after)
    )


def _keys_plan(keys: str, speech: Samples | None, ssrc: int) -> MediaPlan:
    pressed = MediaPlan.keys(keys, first=0.0, gap=0.25, ssrc=ssrc)
    if speech is None:
        return pressed
    return MediaPlan(audio=speech, presses=pressed.presses, ssrc=ssrc)


_ON_NOTIFY = """
  <recv request="BYE" optional="true" next="remote_bye"/>
  <recv request="NOTIFY"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
"""

_NOTIFY = """
  <pause milliseconds="{pause_ms}"/>
  <send retrans="500">
    <![CDATA[
      NOTIFY [$remote_contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <[$local_uri]>;tag=[pid]SIPpTag01[call_number]
      To: [$remote_from]
      Call-ID: [call_id]
      CSeq: {cseq} NOTIFY
      Event: ivr-press
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
"""


@dataclass(frozen=True)
class SippResult:
    exit_code: int
    successful: int
    failed: int
    messages: str  # -trace_msg: every SIP message sent and received
    errors: str  # -trace_err: unexpected messages
    output: str  # stdout + stderr

    def check(self, calls: int = 1) -> SippResult:
        """This result, or AssertionError with the logs unless `calls` calls succeeded."""
        if self.exit_code != 0 or self.successful != calls or self.failed:
            raise AssertionError(
                f"SIPp: exit {self.exit_code}, {self.successful} successful and {self.failed}"
                f" failed calls (wanted {calls})\n--- errors ---\n{self.errors[-3000:]}"
                f"\n--- messages ---\n{self.messages[-6000:]}\n--- output ---\n"
                f"{self.output[-2000:]}"
            )
        return self


class Sipp:
    """One SIPp process running `scenario_file` against `target` ("host:port", empty for a
    UAS), from `local_ip:local_port` with media on `media_port`. Use as a context manager
    (leaving kills it if still running) and `wait()` for its result. `trace_messages`: log
    every SIP message (off under load, where the log costs more than the calls)."""

    def __init__(
        self,
        scenario_file: Path,
        *,
        target: str = "",
        service: str = "100",
        local_ip: str = "127.0.0.1",
        local_port: int = 5070,
        media_port: int = 16000,
        calls: int = 1,
        rate: float = 1.0,
        max_concurrent: int | None = None,
        timeout: float = 60.0,
        sets: dict[str, str] | None = None,
        extra: list[str] | None = None,
        trace_messages: bool = True,
    ) -> None:
        self.logs = scenario_file.parent / f"{scenario_file.stem}-{local_port}"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.command = [
            sipp_binary(), *([target] if target else []),
            "-sf", str(scenario_file), "-s", service, "-t", "u1",
            "-i", local_ip, "-p", str(local_port), "-bind_local",
            "-mi", local_ip, "-mp", str(media_port),
            "-m", str(calls), "-r", str(rate), "-timeout", f"{timeout}s", "-timeout_error",
            "-nostdin", "-nr", "-aa",  # -aa: 200 to OPTIONS/INFO/NOTIFY/UPDATE in calls
            *(["-trace_msg"] if trace_messages else []),
            "-message_file", str(self.logs / "messages.log"),
            "-trace_err", "-error_file", str(self.logs / "errors.log"),
            "-trace_stat", "-stf", str(self.logs / "stats.csv"),
        ]  # fmt: skip
        if max_concurrent is not None:
            self.command += ["-l", str(max_concurrent)]
        for name, value in (sets or {}).items():
            self.command += ["-set", name, value]
        self.command += extra or []
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sipp:
        with open(self.logs / "output.log", "wb") as output:
            self._process = subprocess.Popen(
                self.command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self, timeout: float | None = None) -> SippResult:
        """SIPp's result once it exits (it is killed after `timeout`, default its own + 10 s)."""
        process = self._process
        if process is None:
            raise SippError("Sipp.wait() outside its `with` block")
        try:
            code = process.wait(self.timeout + 10 if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait(5)
        successful, failed = _stats(self.logs / "stats.csv")
        return SippResult(
            exit_code=code,
            successful=successful,
            failed=failed,
            messages=_read(self.logs / "messages.log"),
            errors=_read(self.logs / "errors.log"),
            output=_read(self.logs / "output.log"),
        )


def _stats(path: Path) -> tuple[int, int]:
    """Cumulative successful and failed calls from the last row of SIPp's statistics."""
    if not path.exists():
        return 0, 0
    rows = list(csv.DictReader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if not rows:
        return 0, 0
    last = rows[-1]
    return int(last.get("SuccessfulCall(C)") or 0), int(last.get("FailedCall(C)") or 0)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""

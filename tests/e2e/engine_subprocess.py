"""`ivr serve` as a subprocess on the sandbox (so a test can kill -9 it), configured
like the in-process e2e engine (engine_settings): its own SQLite, var/ and flows copy."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ivr.config import ENV_SETTINGS, PROJECT_ROOT, Settings
from tests.unit.engine_process import free_port


@dataclass
class EngineSubprocess:
    process: "subprocess.Popen[bytes]"
    http_port: int
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def health(self) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.http_port}/health"
        with urllib.request.urlopen(url, timeout=5) as reply:
            data: dict[str, object] = json.loads(reply.read())
        return data

    def kill(self) -> None:
        """kill -9: no stop(), no flush, no close."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def engine_env(settings: Settings, http_port: int) -> dict[str, str]:
    """The environment of an engine process: these settings, nothing from the caller's IVR_*."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    given = {var: str(getattr(settings, name)) for var, name in ENV_SETTINGS.items()}
    return (
        clean
        | {var: value for var, value in given.items() if value}
        | {
            "IVR_AGI_BIND": f"{settings.agi_host}:{settings.agi_port}",
            "IVR_HTTP_BIND": f"127.0.0.1:{http_port}",
        }
    )


def start_engine(settings: Settings, log_file: Path, timeout: float = 30.0) -> EngineSubprocess:
    """Start the engine on the sandbox's FastAGI port; return once AMI is connected."""
    http_port = free_port()
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ivr", "serve"],
            env=engine_env(settings, http_port),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    engine = EngineSubprocess(process, http_port, log_file)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            engine.stop()
            raise AssertionError(f"the engine did not start:\n{engine.log()}")
        try:
            if engine.health().get("ami_connected"):
                return engine
        except OSError:
            pass
        time.sleep(0.1)

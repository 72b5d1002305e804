"""`ivr serve` in a subprocess with a lowered file-descriptor limit, no Asterisk: FastAGI and
HTTP on free loopback ports, SQLite in a temporary directory, AMI pointed at a closed port."""

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ivr.config import PROJECT_ROOT

AGI_FLOWS = PROJECT_ROOT / "tests" / "fixtures" / "agi" / "flows"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EngineProcess:
    process: "subprocess.Popen[bytes]"
    agi_port: int
    http_port: int
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def _limit_files(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@contextmanager
def engine_process(
    base: Path, nofile: int, env: Mapping[str, str] = {}, start_timeout: float = 30.0
) -> Iterator[EngineProcess]:
    """The engine running under `ulimit -n nofile` (soft and hard), until the block ends."""
    agi_port, http_port, ami_port = free_port(), free_port(), free_port()
    log_file = base / "engine.log"
    settings = {
        "IVR_AGI_BIND": f"127.0.0.1:{agi_port}",
        "IVR_HTTP_BIND": f"127.0.0.1:{http_port}",
        "IVR_AMI_HOST": "127.0.0.1",
        "IVR_AMI_PORT": str(ami_port),  # nothing listens: the engine keeps retrying
        "IVR_AMI_SECRET": "unused",
        "IVR_DATABASE_URL": f"sqlite:///{base / 'ivr.db'}",
        "IVR_FLOWS_DIR": str(AGI_FLOWS),
        "IVR_PROMPT_CACHE_DIR": str(base / "prompts"),
        "IVR_SANDBOX_DIR": str(base / "sandbox"),
        "IVR_ASTERISK_CONFIG_DIR": "",
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ivr", "serve"],
            env=clean | settings | dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: _limit_files(nofile),
            cwd=PROJECT_ROOT,
        )
    engine = EngineProcess(process, agi_port, http_port, log_file)
    try:
        deadline = time.monotonic() + start_timeout
        while "engine up" not in engine.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the engine did not start:\n{engine.log()}")
            time.sleep(0.05)
        yield engine
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

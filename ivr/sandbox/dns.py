"""The sandbox's DNS server: its own dnsmasq (Debian dnsmasq-base, the binary without the
system service) on 127.0.0.2:53, serving only the SRV records `_agi._tcp.<name>` that
`hagi://<name>` looks up, for the chroot's Asterisk alone: the chroot's /etc/resolv.conf
names it (res_agi's SRV lookup reads it through libc's resolver, port 53 only); the host's
resolver is untouched and dnsmasq forwards nothing (`--no-resolv`).

The records are a file of `srv-host=` lines dnsmasq reads at start: `publish` rewrites it
and restarts dnsmasq (SIGHUP does not re-read srv-host).
"""

import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DNS_ADDRESS = "127.0.0.2"  # 127.0.0.53 is systemd-resolved's; the whole 127/8 is loopback
DNS_PORT = 53  # libc's resolver (res_ninit in Asterisk's SRV lookup) asks port 53 only
SANDBOX_AGI_NAME = "engines.ivr.sandbox"  # hagi://engines.ivr.sandbox in the sandbox
RESOLV_CONF = f"nameserver {DNS_ADDRESS}\noptions timeout:1 attempts:2\n"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_NAME = re.compile(rf"(?=.{{1,200}}$){LABEL}(?:\.{LABEL})*")
MAX_16 = 65535  # SRV port, priority and weight are 16-bit


class DnsError(RuntimeError):
    """The sandbox's DNS server cannot run or the records are invalid; says why."""


@dataclass(frozen=True)
class SrvTarget:
    """One engine's FastAGI: Asterisk tries the lowest priority first, and spreads calls
    over the targets of one priority by weight (active/active)."""

    host: str
    port: int
    priority: int = 10
    weight: int = 10


def render_agi_srv(name: str, targets: Sequence[SrvTarget]) -> str:
    """dnsmasq's `srv-host=` lines for `hagi://<name>`; ValueError names a bad value."""
    if not DNS_NAME.fullmatch(name):
        raise ValueError(f"SRV name {name!r}: expected a DNS name such as engines.example")
    if not targets:
        raise ValueError(f"SRV name {name!r}: no FastAGI target")
    lines = [f"# hagi://{name}: the engines' FastAGI (ivr sandbox)"]
    for target in targets:
        if not (_is_ip(target.host) or DNS_NAME.fullmatch(target.host)):
            raise ValueError(f"SRV target host {target.host!r}: expected an address or a name")
        if not 0 < target.port <= MAX_16:
            raise ValueError(f"SRV target {target.host}: port {target.port} is not 1-{MAX_16}")
        if not (0 <= target.priority <= MAX_16 and 0 <= target.weight <= MAX_16):
            raise ValueError(
                f"SRV target {target.host}:{target.port}: priority/weight not 0-{MAX_16}"
            )
        lines.append(
            f"srv-host=_agi._tcp.{name},{target.host},{target.port},"
            f"{target.priority},{target.weight}"
        )
    return "\n".join(lines) + "\n"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def dnsmasq_command(records: Path, pid_file: Path, log_file: Path) -> list[str]:
    """A dnsmasq that answers on DNS_ADDRESS only, from `records` only, forwarding nothing."""
    return [
        _dnsmasq_binary(),
        f"--conf-file={records}",
        f"--pid-file={pid_file}",
        f"--log-facility={log_file}",
        f"--listen-address={DNS_ADDRESS}",
        f"--port={DNS_PORT}",
        "--bind-interfaces",  # that one address, not the wildcard
        "--no-resolv",  # no upstream: not a resolver for anything else
        "--no-hosts",
        "--no-poll",
        "--user=root",  # reads nothing after start; the pid file stays ours to remove
    ]


def _dnsmasq_binary() -> str:
    found = shutil.which("dnsmasq", path=os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin")))
    if found is None:
        raise DnsError(
            "dnsmasq is not installed (the sandbox's DNS server for hagi://): "
            "apt-get install -y dnsmasq-base"
        )
    return found


class SandboxDns:
    """The sandbox's dnsmasq, its files under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.records = directory / "agi-srv.conf"
        self.pid_file = directory / "dnsmasq.pid"
        self.log_file = directory / "dnsmasq.log"

    def publish(self, name: str, targets: Sequence[SrvTarget]) -> None:
        """Serve `_agi._tcp.<name>` pointing at `targets` (replaces what was served)."""
        text = render_agi_srv(name, targets)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.records.write_text(text, encoding="utf-8")
        self.stop()
        self.start()

    def start(self, timeout: float = 5.0) -> None:
        if self.pid() is not None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        command = dnsmasq_command(self.records, self.pid_file, self.log_file)
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise DnsError(
                f"dnsmasq did not start ({result.returncode}) on {DNS_ADDRESS}:{DNS_PORT}: "
                f"{result.stderr.strip()}"
            )
        deadline = time.monotonic() + timeout
        while self.pid() is None:
            if time.monotonic() > deadline:
                raise DnsError(f"dnsmasq wrote no pid file {self.pid_file}; see {self.log_file}")
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        """The pid of this sandbox's dnsmasq if it runs: the one in our pid file, else one
        started with our pid file that lost it (the directory was rebuilt under it)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return self._orphan()
        return pid if self._ours(pid) else self._orphan()

    def _ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        ours = f"--pid-file={self.pid_file}".encode()
        return bool(cmdline) and cmdline[0].endswith(b"dnsmasq") and ours in cmdline

    def _orphan(self) -> int | None:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and self._ours(int(entry.name)):
                return int(entry.name)
        return None


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()

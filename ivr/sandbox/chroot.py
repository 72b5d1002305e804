"""A real Asterisk 22 in a Debian sid chroot, for development, demo and tests.

Built with mmdebstrap from the mirror the host's own apt sources name (read at run time,
never written into the repository), then configured from the project's files.
"""

import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ivr.config import Settings, sandbox_secret_file
from ivr.queues.model import load_queues
from ivr.sandbox import agi_runtime
from ivr.sandbox.asterisk_conf import (
    ENGINE_EVENTS,
    ENGINE_READ,
    ENGINE_WRITE,
    MODULES,
    TESTER_READ,
    TESTER_WRITE,
    AmiUser,
    AsteriskSettings,
    render_asterisk_config,
)
from ivr.sandbox.dns import RESOLV_CONF, SANDBOX_AGI_NAME, DnsError, SandboxDns, SrvTarget
from ivr.telephony.pjsip_render import AUTH_FILE, required_secrets
from ivr.telephony.sip_config import TELEPHONY_FILE, TelephonyConfig, load_telephony

PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
ENGINE_USER = "ivr-engine"
TESTER_USER = "ivr-tester"
BUILT_STAMP = ".ivr-built"


class SandboxError(RuntimeError):
    """The sandbox cannot be built or started; the message says why and what to do."""


@dataclass(frozen=True)
class SandboxStatus:
    built: bool
    running: bool
    version: str
    detail: str


def host_debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The first Debian archive URI in the host's apt sources (deb822 or one-line)."""
    candidates: list[str] = []
    for path in sorted(sources_dir.glob("sources.list.d/*.sources")):
        candidates += re.findall(r"^URIs:\s*(\S+)", path.read_text(), flags=re.M)
    for path in [sources_dir / "sources.list", *sorted(sources_dir.glob("sources.list.d/*.list"))]:
        if path.exists():
            candidates += re.findall(
                r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", path.read_text(), flags=re.M
            )
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri
    raise SandboxError(
        f"no Debian archive (a URI ending in /debian) in {sources_dir}/sources.list*: "
        "the sandbox is built from the host's own Debian mirror"
    )


class Sandbox:
    """The chroot at `<dir>/root`, its secrets at `<dir>/secrets`."""

    def __init__(
        self,
        directory: str | Path,
        queues_file: str | Path,
        ami_port: int = 5038,
        agi_url: str = "agi://127.0.0.1:4573",
        telephony_file: str | Path = TELEPHONY_FILE,
        engine_settings: Settings | None = None,
    ) -> None:
        self.dir = Path(directory)
        self.root = self.dir / "root"
        self.secrets_dir = self.dir / "secrets"
        self.queues_file = Path(queues_file)
        self.telephony_file = Path(telephony_file)
        self.settings = AsteriskSettings(ami_port=ami_port, agi_url=agi_url)
        self.dns = SandboxDns(self.dir / "dns")
        # what the AGI scripts of the fallback path read (the engine's flows and database)
        self.engine_settings = engine_settings or Settings(queues_file=str(queues_file))

    # -- build -------------------------------------------------------------------------
    def build(self) -> None:
        if (self.root / BUILT_STAMP).exists():
            return
        if os.geteuid() != 0:
            raise SandboxError("building the sandbox needs root (mmdebstrap, chroot, mount)")
        if shutil.which("mmdebstrap") is None:
            raise SandboxError("mmdebstrap is not installed: apt-get install -y mmdebstrap")
        if self.root.exists():
            self._umount_proc()
            shutil.rmtree(self.root)
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "root.partial"
        if tmp.exists():
            shutil.rmtree(tmp)
        cmd = [
            "mmdebstrap",
            "--variant=apt",
            "--include=" + ",".join(PACKAGES),
            '--aptopt=Acquire::Check-Valid-Until "false"',
            "sid",
            str(tmp),
            host_debian_mirror(),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise SandboxError(f"mmdebstrap failed ({result.returncode}):\n{result.stderr[-3000:]}")
        tmp.rename(self.root)
        (self.root / BUILT_STAMP).write_text(self._chroot_output(["asterisk", "-V"]))

    # -- configuration -----------------------------------------------------------------
    def secret(self, user: str) -> str:
        """The generated secret of a sandbox AMI user or SIP party (`phone-1001`: its SIP
        password), made on first use, mode 0600."""
        path = sandbox_secret_file(self.dir, user)
        if not path.exists():
            self.secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def write_config(self) -> None:
        users = (
            AmiUser(
                ENGINE_USER, self.secret(ENGINE_USER), ENGINE_READ, ENGINE_WRITE, ENGINE_EVENTS
            ),
            AmiUser(TESTER_USER, self.secret(TESTER_USER), TESTER_READ, TESTER_WRITE),
        )
        telephony = self.telephony()
        phones, trunks = required_secrets(telephony)
        files = render_asterisk_config(
            self.settings,
            load_queues(self.queues_file),
            users,
            sandbox=True,
            telephony=telephony,
            sip_secrets={key: self.secret(key) for key in (*phones, *trunks)},
        )
        etc = self.root / "etc" / "asterisk"
        if etc.exists():
            shutil.rmtree(etc)
        for rel, text in files.items():
            target = etc / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        (etc / "manager.conf").chmod(0o600)
        (etc / AUTH_FILE).chmod(0o600)

    def install_agi_scripts(self) -> None:
        """The classic AGI scripts of the fallback path, and what they need (agi_runtime)."""
        engine = self.engine_settings
        try:
            agi_runtime.install(
                self.root,
                Path(engine.flows_dir),
                Path(engine.queues_file),
                agi_runtime.shared_settings(engine, self.root),
            )
        except (agi_runtime.AgiRuntimeError, OSError) as exc:
            raise SandboxError(f"the AGI scripts' runtime: {exc}") from None

    def serve_agi_srv(self, name: str = SANDBOX_AGI_NAME, ports: tuple[int, ...] = (4573,)) -> None:
        """DNS SRV records for `hagi://<name>`: the engines' FastAGI ports on 127.0.0.1, all
        one priority (calls spread over them; Asterisk tries the next when one is down)."""
        try:
            self.dns.publish(name, [SrvTarget("127.0.0.1", port) for port in ports])
        except (DnsError, ValueError) as exc:
            raise SandboxError(f"sandbox DNS: {exc}") from None

    def _start_dns(self) -> None:
        """The chroot's resolver is the sandbox's dnsmasq (hagi:// SRV lookups), nothing else."""
        resolv = self.root / "etc" / "resolv.conf"
        if resolv.is_symlink():  # never write through a link out of the chroot
            resolv.unlink()
        resolv.write_text(RESOLV_CONF)
        self.serve_agi_srv()

    def telephony(self) -> TelephonyConfig:
        """The SIP transports, trunks and phones this Asterisk gets (telephony.yaml)."""
        return load_telephony(self.telephony_file)

    # -- run ---------------------------------------------------------------------------
    def up(self, boot_timeout: float = 60.0) -> SandboxStatus:
        self.build()
        self.write_config()
        self.install_agi_scripts()
        self._start_dns()
        if self.is_running():
            self.cli("core reload")  # every module: dialplan, manager users, queues
            self._load_missing_modules()  # a reload does not load modules added since boot
            return self.status()
        self._mount_proc()
        # /var/run is an absolute symlink to /run: use chroot paths that do not cross it.
        for sub in ("run/asterisk", "var/log/asterisk", "var/spool/asterisk"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(self._start_argv(), check=True)
        deadline = time.monotonic() + boot_timeout
        while time.monotonic() < deadline:
            if self._cli_ok("core waitfullybooted"):
                return self.status()
            time.sleep(0.2)
        raise SandboxError(
            f"Asterisk did not boot within {boot_timeout:.0f} s; "
            f"see {self.root}/var/log/asterisk/messages.log"
        )

    def down(self, timeout: float = 20.0) -> None:
        self.dns.stop()
        if self.is_running():
            self._cli_ok("core stop now")
            deadline = time.monotonic() + timeout
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.2)
            if self.is_running():
                pid = self.pid()
                if pid:
                    os.kill(pid, 9)
        self._umount_proc()

    def status(self) -> SandboxStatus:
        built = (self.root / BUILT_STAMP).exists()
        version = (self.root / BUILT_STAMP).read_text().strip() if built else ""
        running = self.is_running()
        detail = self.cli("core show uptime").strip() if running else ""
        return SandboxStatus(built=built, running=running, version=version, detail=detail)

    def is_running(self) -> bool:
        pid = self.pid()
        return (
            pid is not None and Path(f"/proc/{pid}").exists() and self._cli_ok("core show version")
        )

    def cli(self, command: str) -> str:
        return self._chroot_output(["/usr/sbin/asterisk", "-rx", command])

    @property
    def log_file(self) -> Path:
        return self.root / "var" / "log" / "asterisk" / "messages.log"

    # -- helpers -----------------------------------------------------------------------
    def _start_argv(self) -> list[str]:
        """The command that starts Asterisk (it daemonises: `-g` keeps core dumps)."""
        return ["chroot", str(self.root), "/usr/sbin/asterisk", "-g"]

    def _load_missing_modules(self) -> None:
        shown = self.cli("module show")
        loaded = set(re.findall(r"^(\S+\.so)\s", shown, re.MULTILINE))
        # declined at boot (its config was missing then): load it again now it is there
        declined = set(re.findall(r"^(\S+\.so)\s.*\sNot Running\s", shown, re.MULTILINE))
        for module in MODULES:
            if module in declined:
                self.cli(f"module unload {module}")
            if module not in loaded or module in declined:
                self.cli(f"module load {module}")

    def pid(self) -> int | None:
        try:
            return int((self.root / "run/asterisk/asterisk.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _cli_ok(self, command: str) -> bool:
        result = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-rx", command],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.returncode == 0 and "Unable to connect" not in result.stdout + result.stderr

    def _chroot_output(self, argv: list[str]) -> str:
        result = subprocess.run(
            ["chroot", str(self.root), *argv], capture_output=True, text=True, timeout=60
        )
        return result.stdout

    def _proc(self) -> Path:
        return self.root / "proc"

    def _mount_proc(self) -> None:
        if not os.path.ismount(self._proc()):
            subprocess.run(["mount", "-t", "proc", "proc", str(self._proc())], check=True)

    def _umount_proc(self) -> None:
        if os.path.ismount(self._proc()):
            subprocess.run(["umount", "-l", str(self._proc())], check=False)

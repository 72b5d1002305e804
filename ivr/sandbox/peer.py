"""A second Asterisk for high-availability tests: a copy of the sandbox chroot, run in its
own network namespace (`ip netns`) and configured like the first one, except for addresses:

- AMI and SIP bound to the namespace's address (AMI logins only from its network),
- FastAGI to the host side's address, where engines listen (a parameter),
- the trunks' carrier on the host side's carrier address instead of loopback,
- its own secrets (AMI users, SIP passwords) in its own directory.

The chroot is copied once (`cp -a --one-file-system`, see chroot_copy) and again only when
the first sandbox was rebuilt; the configuration is rendered at every `up`.
"""

import ipaddress
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from ivr.sandbox.asterisk_conf import AsteriskSettings
from ivr.sandbox.chroot import (
    BUILT_STAMP,
    ENGINE_USER,
    TESTER_USER,
    Sandbox,
    SandboxError,
    SandboxStatus,
)
from ivr.sandbox.chroot_copy import ChrootCopyError, copy_chroot, is_current
from ivr.sandbox.netns import NetnsError, PeerNetwork, ensure_network
from ivr.telephony.sip_config import TelephonyConfig

PEER_SUFFIX = "-2"
COPIED_STATE = (
    "run/asterisk",
    "var/log/asterisk",
    "var/spool/asterisk/monitor",
    "var/lib/asterisk/astdb.sqlite3",
)  # /var/lib/ivr/sandbox -> /var/lib/ivr/sandbox-2


def peer_dir(sandbox_dir: str | Path) -> Path:
    """The second Asterisk's directory beside the first one's."""
    path = Path(sandbox_dir)
    return path.with_name(path.name + PEER_SUFFIX)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_network(address, strict=False).network_address.is_loopback
    except ValueError:
        return False  # a host name


def peer_telephony(telephony: TelephonyConfig, net: PeerNetwork) -> TelephonyConfig:
    """telephony.yaml for the second Asterisk: every transport on the namespace's address,
    trunks at a loopback carrier moved to the host side's carrier address."""

    def moved(address: str) -> str:
        return net.carrier_address if _is_loopback(address) else address

    transports = {
        name: replace(t, host=net.peer_address) for name, t in telephony.transports.items()
    }
    trunks = {
        name: replace(t, host=moved(t.host), match=tuple(dict.fromkeys(map(moved, t.match))))
        for name, t in telephony.trunks.items()
    }
    return replace(telephony, transports=transports, trunks=trunks)


@dataclass(frozen=True)
class PeerEndpoints:
    """What a test or an engine needs to reach the second Asterisk."""

    ami_host: str
    ami_port: int
    engine_user: str
    engine_secret: str
    tester_user: str
    tester_secret: str
    sip_address: str  # host:port of its SIP transport
    carrier_address: str  # the address its trunk `provider` accepts calls from
    agi_target: str  # host:port its dialplan sends FastAGI to
    sandbox_dir: Path  # an engine's sandbox_dir for it (its prompts go into this chroot)


class PeerSandbox(Sandbox):
    """The second Asterisk: `<dir>/root` copied from `source`, run in `network`'s namespace."""

    def __init__(
        self,
        directory: str | Path,
        source: Sandbox,
        network: PeerNetwork | None = None,
        agi_target: str = "",  # default: the host side's address, port 4573
        ami_port: int = 5038,
    ) -> None:
        self.network = network or PeerNetwork()
        self.agi_target = agi_target or f"{self.network.host_address}:4573"
        super().__init__(
            directory,
            source.queues_file,
            ami_port,
            f"agi://{self.agi_target}",
            source.telephony_file,
        )
        self.source = source
        self.settings = AsteriskSettings(
            ami_port=ami_port,
            ami_bind=self.network.peer_address,
            ami_permit=self.network.netmask,
            agi_url=f"agi://{self.agi_target}",
        )

    def build(self) -> None:
        """Copy the first sandbox's chroot when there is no copy or the first was rebuilt."""
        self.source.build()
        if is_current(self.source.root, self.root, BUILT_STAMP):
            return
        if self.is_running():
            raise SandboxError(
                f"{self.root} is older than {self.source.root} (rebuilt since it was copied): "
                "stop it (ivr sandbox down --peer), then up again to copy it afresh"
            )
        self._umount_proc()
        try:
            copy_chroot(self.source.root, self.root, BUILT_STAMP)
        except ChrootCopyError as exc:
            raise SandboxError(str(exc)) from exc
        self._forget_copied_state()

    def _forget_copied_state(self) -> None:
        """The copy starts without the first Asterisk's run state: its pid file and control
        socket (a pid file naming the first Asterisk would make it look like this one), logs,
        recordings and AstDB."""
        for sub in COPIED_STATE:
            path = self.root / sub
            if path.is_dir():
                shutil.rmtree(path)
                path.mkdir()
            elif path.exists():
                path.unlink()

    def up(self, boot_timeout: float = 60.0) -> SandboxStatus:
        if os.geteuid() != 0:
            raise SandboxError("the second Asterisk needs root (ip netns, mount, chroot)")
        if shutil.which("ip") is None:
            raise SandboxError("`ip` is not installed (Debian: iproute2)")
        try:
            ensure_network(self.network)
        except NetnsError as exc:
            raise SandboxError(f"network namespace {self.network.name}: {exc}") from exc
        return super().up(boot_timeout)

    def _start_dns(self) -> None:
        """None here: the namespace has its own loopback (the first sandbox's DNS server is
        not reachable from it) and its dialplan reaches the engines by agi://host:port."""

    def telephony(self) -> TelephonyConfig:
        return peer_telephony(super().telephony(), self.network)

    def endpoints(self) -> PeerEndpoints:
        transport = next(iter(self.telephony().transports.values()))
        return PeerEndpoints(
            ami_host=self.network.peer_address,
            ami_port=self.settings.ami_port,
            engine_user=ENGINE_USER,
            engine_secret=self.secret(ENGINE_USER),
            tester_user=TESTER_USER,
            tester_secret=self.secret(TESTER_USER),
            sip_address=f"{transport.host}:{transport.port}",
            carrier_address=self.network.carrier_address,
            agi_target=self.agi_target,
            sandbox_dir=self.dir,
        )

    def _start_argv(self) -> list[str]:
        return [*self.network.exec_prefix(), *super()._start_argv()]

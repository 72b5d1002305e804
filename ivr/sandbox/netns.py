"""A network namespace (`ip netns`) joined to the host by a veth pair, for a second Asterisk.

The host side holds the address engines listen on (FastAGI) and a second one the test
carrier (SIPp) sends from, so its calls are told apart from phones; the namespace side
holds the second Asterisk's address. Private IPv4 addresses only. `ensure_network` is
idempotent: it creates what is missing and leaves the rest as it is.
"""

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass


class NetnsError(RuntimeError):
    """The namespace or its link cannot be set up; the message says why."""


MAX_IFNAME = 15  # Linux IFNAMSIZ - 1


@dataclass(frozen=True)
class PeerNetwork:
    name: str = "ivr-ast2"
    host_address: str = "10.87.0.1"  # engines' FastAGI (and phones) on the host side
    peer_address: str = "10.87.0.2"  # the second Asterisk: AMI and SIP
    carrier_address: str = "10.87.0.3"  # the test carrier (SIPp), on the host side too
    prefix: int = 24

    def __post_init__(self) -> None:
        if len(self.host_interface) > MAX_IFNAME:
            raise ValueError(f"namespace name {self.name!r}: at most {MAX_IFNAME - 2} characters")
        net = ipaddress.ip_network(self.cidr)
        addresses = (self.host_address, self.peer_address, self.carrier_address)
        for text in addresses:
            address = ipaddress.ip_address(text)
            if address.version != 4 or not address.is_private or address.is_loopback:
                raise ValueError(f"{text}: a private, non-loopback IPv4 address is required")
            if address not in net:
                raise ValueError(f"{text} is not in {net}")
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"host, peer and carrier addresses must differ: {addresses}")

    @property
    def cidr(self) -> str:
        return str(ipaddress.ip_network(f"{self.host_address}/{self.prefix}", strict=False))

    @property
    def netmask(self) -> str:
        """The network as Asterisk's permit= reads it: 10.87.0.0/255.255.255.0."""
        net = ipaddress.ip_network(self.cidr)
        return f"{net.network_address}/{net.netmask}"

    @property
    def host_interface(self) -> str:
        return f"{self.name}-h"

    @property
    def peer_interface(self) -> str:
        return f"{self.name}-n"

    def exec_prefix(self) -> list[str]:
        """Prefix a command with this to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if shutil.which("ip") is None:
        raise NetnsError("`ip` is not installed (Debian: iproute2)")
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def namespace_exists(name: str) -> bool:
    listed = _ip("netns", "list").stdout.split("\n")
    return any(line.split(" ", 1)[0] == name for line in listed)


def _has_address(interface: str, address: str, prefix: int, namespace: str = "") -> bool:
    where = ("-n", namespace) if namespace else ()
    shown = _ip(*where, "-o", "-4", "addr", "show", "dev", interface).stdout
    return f" inet {address}/{prefix} " in shown


def _add_address(interface: str, address: str, prefix: int, namespace: str = "") -> None:
    if not _has_address(interface, address, prefix, namespace):
        where = ("-n", namespace) if namespace else ()
        _ip(*where, "addr", "add", f"{address}/{prefix}", "dev", interface)


def ensure_network(net: PeerNetwork) -> None:
    """Create the namespace, its veth pair and addresses where missing; bring links up."""
    if not namespace_exists(net.name):
        _ip("netns", "add", net.name)
    host_link = _ip("link", "show", "dev", net.host_interface, check=False).returncode == 0
    peer_link = (
        _ip("-n", net.name, "link", "show", "dev", net.peer_interface, check=False).returncode == 0
    )
    if host_link != peer_link or not host_link:
        # half a pair (a namespace deleted and made again): start the pair afresh
        _ip("link", "del", net.host_interface, check=False)
        _ip("-n", net.name, "link", "del", net.peer_interface, check=False)
        _ip("link", "add", net.host_interface, "type", "veth",
            "peer", "name", net.peer_interface, "netns", net.name)  # fmt: skip
    _add_address(net.host_interface, net.host_address, net.prefix)
    _add_address(net.host_interface, net.carrier_address, net.prefix)
    _ip("link", "set", net.host_interface, "up")
    _add_address(net.peer_interface, net.peer_address, net.prefix, net.name)
    _ip("-n", net.name, "link", "set", net.peer_interface, "up")
    _ip("-n", net.name, "link", "set", "lo", "up")

"""The second Asterisk's configuration (addresses, AMI access, carrier) and its network."""

from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.sandbox import peer as peer_module
from ivr.sandbox.chroot import Sandbox, SandboxError
from ivr.sandbox.netns import PeerNetwork
from ivr.sandbox.peer import PeerSandbox, peer_dir, peer_telephony
from ivr.telephony.pjsip_render import render_pjsip_conf
from ivr.telephony.sip_config import load_telephony

TELEPHONY = load_telephony(PROJECT_ROOT / "telephony.yaml")


def peer(tmp_path: Path, **kwargs: object) -> PeerSandbox:
    source = Sandbox(tmp_path / "sandbox", PROJECT_ROOT / "queues.yaml")
    return PeerSandbox(tmp_path / "sandbox-2", source, **kwargs)  # type: ignore[arg-type]


def rendered(box: PeerSandbox) -> dict[str, str]:
    box.root.mkdir(parents=True)
    box.write_config()
    etc = box.root / "etc" / "asterisk"
    return {p.name: p.read_text() for p in etc.iterdir() if p.is_file()}


def test_peer_directory_is_beside_the_sandbox() -> None:
    assert peer_dir("/var/lib/ivr/sandbox") == Path("/var/lib/ivr/sandbox-2")


def test_ami_listens_on_the_namespace_address_for_its_network_only(tmp_path: Path) -> None:
    manager = rendered(peer(tmp_path))["manager.conf"]
    assert "bindaddr = 10.87.0.2" in manager
    assert "deny = 0.0.0.0/0.0.0.0" in manager
    assert manager.count("permit = 10.87.0.0/255.255.255.0") == 2  # engine and tester users
    assert "127.0.0.1" not in manager


def test_fastagi_goes_to_the_host_side_or_where_told(tmp_path: Path) -> None:
    assert "IVR_AGI=agi://10.87.0.1:4573" in rendered(peer(tmp_path / "a"))["extensions.conf"]
    told = peer(tmp_path / "b", agi_target="10.87.0.1:4600")
    assert "IVR_AGI=agi://10.87.0.1:4600" in rendered(told)["extensions.conf"]


def test_own_secrets_not_the_first_sandboxs(tmp_path: Path) -> None:
    box = peer(tmp_path)
    rendered(box)
    assert box.secret("ivr-engine") != box.source.secret("ivr-engine")
    assert (tmp_path / "sandbox-2" / "secrets" / "ivr-engine.secret").exists()
    endpoints = box.endpoints()
    assert (endpoints.ami_host, endpoints.ami_port) == ("10.87.0.2", 5038)
    assert endpoints.engine_secret == box.secret("ivr-engine")
    assert endpoints.sip_address == "10.87.0.2:5060"
    assert endpoints.carrier_address == "10.87.0.3"


def test_sip_on_the_namespace_address_and_the_carrier_on_the_host_side() -> None:
    moved = peer_telephony(TELEPHONY, PeerNetwork())
    assert {t.host for t in moved.transports.values()} == {"10.87.0.2"}
    provider = moved.trunks["provider"]
    assert provider.host == "10.87.0.3" and provider.match == ("10.87.0.3",)
    assert provider.dids == TELEPHONY.trunks["provider"].dids
    pjsip = render_pjsip_conf(moved)
    assert "bind = 10.87.0.2:5060" in pjsip and "match = 10.87.0.3" in pjsip
    assert "127.0.0." not in pjsip
    assert moved.phones == TELEPHONY.phones


def test_start_runs_asterisk_inside_the_namespace(tmp_path: Path) -> None:
    box = peer(tmp_path)
    argv = box._start_argv()
    assert argv[:4] == ["ip", "netns", "exec", "ivr-ast2"]
    assert argv[4:] == ["chroot", str(box.root), "/usr/sbin/asterisk", "-g"]
    # the first one: no namespace
    assert box.source._start_argv() == ["chroot", str(box.source.root), "/usr/sbin/asterisk", "-g"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"host_address": "8.8.8.1", "peer_address": "8.8.8.2", "carrier_address": "8.8.8.3"},
            "private",
        ),
        ({"peer_address": "127.0.0.2"}, "non-loopback"),
        ({"carrier_address": "10.88.0.3"}, "not in 10.87.0.0/24"),
        ({"carrier_address": "10.87.0.2"}, "must differ"),
        ({"name": "a-very-long-ns"}, "at most 13"),
    ],
)
def test_network_refuses_public_loopback_or_clashing_addresses(
    changes: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PeerNetwork(**changes)  # type: ignore[arg-type]


def test_network_names_and_masks() -> None:
    net = PeerNetwork()
    assert (net.host_interface, net.peer_interface) == ("ivr-ast2-h", "ivr-ast2-n")
    assert (net.cidr, net.netmask) == ("10.87.0.0/24", "10.87.0.0/255.255.255.0")


def test_up_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = peer(tmp_path)
    monkeypatch.setattr(peer_module.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="needs root"):
        box.up()
    monkeypatch.setattr(peer_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(peer_module.shutil, "which", lambda tool: None)
    with pytest.raises(SandboxError, match="iproute2"):
        box.up()
    assert not box.dir.exists()  # nothing made


def test_agi_target_without_peer_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "status", "--agi-target", "10.87.0.1:4600"]) == 2
    assert "use it with --peer" in capsys.readouterr().err

"""The second Asterisk (HA tests) in network namespace ivr-ast2: an engine on the host logs
in to its AMI, a carrier's SIP call to it is served a menu by an engine's FastAGI on the
host, and the first sandbox goes on working beside it, each with its own engine."""

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.app import Engine
from ivr.config import Settings
from ivr.sandbox.chroot import Sandbox
from ivr.sandbox.chroot_copy import COPY_STAMP
from ivr.sandbox.netns import ensure_network
from ivr.sandbox.peer import PeerEndpoints, PeerSandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import journal_row, peer_engine_settings, started
from tests.e2e.sip_menu import SipMenuCalls, sip_callers_through_the_menu

CALLERS = 2  # carrier callers on each Asterisk
KEYS = ["1"]  # main menu: 1 = new connection


@pytest.fixture
async def peer_engine(
    second_asterisk: PeerEndpoints, settings: Settings, tmp_path: Path
) -> AsyncIterator[Engine]:
    (tmp_path / "peer").mkdir()
    engine = await started(peer_engine_settings(settings, second_asterisk, tmp_path / "peer"))
    yield engine
    await engine.stop()


async def global_var(ami: AmiClient, name: str) -> str:
    reply = await ami.send({"Action": "Getvar", "Variable": name})
    return str((reply[0] if isinstance(reply, list) else reply).get("Value"))


async def test_the_engine_logs_in_to_the_second_asterisks_ami(
    second_asterisk: PeerEndpoints, peer_engine: Engine, engine: Engine
) -> None:
    assert second_asterisk.ami_host == "10.87.0.2"
    assert peer_engine.ami is not None and peer_engine.ami.connected
    assert engine.ami is not None and engine.ami.connected
    # the same user on two Asterisks, each with its own secret and its own FastAGI target
    assert second_asterisk.engine_secret != engine.settings.resolved_ami_secret()
    assert await global_var(peer_engine.ami, "IVR_AGI") == "agi://10.87.0.1:4573"
    assert await global_var(engine.ami, "IVR_AGI") == "agi://127.0.0.1:4573"


async def test_the_second_asterisks_ami_is_only_in_its_namespace(
    second_asterisk_sandbox: PeerSandbox,
) -> None:
    """AMI listens on the namespace's address, not on the host's loopback (where the first
    Asterisk's AMI is), and only logins from 10.87.0.0/24 are permitted."""
    manager = (second_asterisk_sandbox.root / "etc/asterisk/manager.conf").read_text()
    assert "bindaddr = 10.87.0.2" in manager
    assert "permit = 10.87.0.0/255.255.255.0" in manager
    assert "permit = 127.0.0.1" not in manager
    listening = await asyncio.to_thread(second_asterisk_sandbox.cli, "manager show settings")
    assert "10.87.0.2:5038" in listening, listening


def check_calls(calls: SipMenuCalls, channel_count: int) -> None:
    assert calls.result is not None
    calls.result.check(channel_count)
    assert len(calls.routes) == channel_count, calls.routes
    for route in calls.routes.values():
        assert route["Queue"] == "connections", route
    assert all("Success" in str(r) for r in calls.replies), calls.replies


async def journalled(engine: Engine, calls: SipMenuCalls) -> set[str]:
    ids = {str(route["CallID"]) for route in calls.routes.values()}
    return {i for i in ids if await journal_row(engine, i, ended=False) is not None}


async def test_sip_calls_to_both_asterisks_get_menus_from_their_engines(
    sandbox: Sandbox,
    second_asterisk_sandbox: PeerSandbox,
    second_asterisk: PeerEndpoints,
    engine: Engine,
    tester: AmiClient,
    peer_engine: Engine,
    second_tester: AmiClient,
    tmp_path: Path,
) -> None:
    """SIPp carriers call both Asterisks at once: each call goes through its Asterisk's
    dialplan to FastAGI on the host (the second one's over the namespace's link), hears the
    menu, keys 1 and joins the connections queue; each engine journals its own calls."""
    first, second = await asyncio.gather(
        sip_callers_through_the_menu(sandbox, tester, tmp_path / "first", CALLERS, KEYS),
        sip_callers_through_the_menu(
            second_asterisk_sandbox, second_tester, tmp_path / "second", CALLERS, KEYS,
            target=second_asterisk.sip_address, carrier_ip=second_asterisk.carrier_address,
        ),
    )  # fmt: skip
    check_calls(first, CALLERS)
    check_calls(second, CALLERS)
    first_ids = {str(r["CallID"]) for r in first.routes.values()}
    second_ids = {str(r["CallID"]) for r in second.routes.values()}
    assert await journalled(engine, first) == first_ids
    assert await journalled(peer_engine, second) == second_ids
    assert not first_ids & second_ids
    # no call crossed over: each engine has only its own Asterisk's calls
    assert all(engine.repository.get(i) is None for i in second_ids)
    assert all(peer_engine.repository.get(i) is None for i in first_ids)


def test_up_again_reloads_it_and_reuses_its_copy_and_namespace(
    sandbox: Sandbox, second_asterisk_sandbox: PeerSandbox
) -> None:
    box = second_asterisk_sandbox
    copied = (box.root / COPY_STAMP).stat().st_mtime_ns
    pid = box.pid()
    assert pid is not None and pid != sandbox.pid()  # its own pid file, not the copied one
    assert box.up().running
    assert box.pid() == pid  # reloaded, not restarted
    assert (box.root / COPY_STAMP).stat().st_mtime_ns == copied  # not copied again
    ensure_network(box.network)  # again: nothing to add
    host_side = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", box.network.host_interface],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert sorted(re.findall(r" inet (\S+) ", host_side)) == ["10.87.0.1/24", "10.87.0.3/24"]
    # the copy's log is its own: no line of the first Asterisk's calls copied with it
    assert "127.0.0.1:4573" not in box.log_file.read_text(errors="replace")

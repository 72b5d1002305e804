"""The generated Asterisk configuration: least-privilege AMI, trimmed modules.

queues.conf is tested in tests/unit/queues/."""

import re
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.queues.model import load_queues
from ivr.sandbox.asterisk_conf import (
    ENGINE_EVENTS,
    ENGINE_READ,
    ENGINE_WRITE,
    AmiUser,
    AsteriskSettings,
    render_asterisk_config,
)
from ivr.sandbox.chroot import SandboxError, host_debian_mirror
from ivr.telephony.ami_events import AmiEvent, UserEvent

QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")
ENGINE = AmiUser("ivr-engine", "s3cret", ENGINE_READ, ENGINE_WRITE)


def render(sandbox: bool) -> dict[str, str]:
    return dict(render_asterisk_config(AsteriskSettings(), QUEUES, (ENGINE,), sandbox=sandbox))


def test_manager_binds_loopback_with_least_privilege() -> None:
    manager = render(False)["manager.conf"]
    assert "bindaddr = 127.0.0.1" in manager
    assert "deny = 0.0.0.0/0.0.0.0" in manager and "permit = 127.0.0.1/255.255.255.255" in manager
    assert "read = call,agent,user,system" in manager
    assert "write = originate,call,agent,user" in manager


def test_modules_are_trimmed_and_include_agi_and_queue() -> None:
    modules = render(False)["modules.conf"]
    assert "autoload = no" in modules
    for needed in ("res_agi.so", "res_speech.so", "app_queue.so", "pbx_config.so"):
        assert f"load = {needed}" in modules


def test_production_config_has_no_test_contexts() -> None:
    prod, box = render(False), render(True)
    assert "ivr/ivr.conf" in prod and "ivr/ivr-test.conf" not in prod
    assert "ivr/ivr-test.conf" in box
    assert '#include "ivr/ivr-test.conf"' in box["extensions.conf"]


def test_mirror_is_read_from_host_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: x\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert host_debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="no Debian archive"):
        host_debian_mirror(tmp_path)


def _concrete_events(kind: type[AmiEvent]) -> list[type[AmiEvent]]:
    found = [kind] if kind.EVENT else []
    for sub in kind.__subclasses__():
        found += _concrete_events(sub)
    return found


def test_the_engine_event_filter_lets_every_event_the_engine_reads_through() -> None:
    """Asterisk matches ENGINE_EVENTS (POSIX ERE with GNU \\s, as Python's re reads it)
    against the event's text: every typed event must pass, its look-alikes must not."""
    texts = [
        f"Event: {kind.EVENT}\r\nPrivilege: call,all\r\n"
        + (f"UserEvent: {kind.USER_EVENT}\r\n" if issubclass(kind, UserEvent) else "")
        for kind in _concrete_events(AmiEvent)
        if kind is not UserEvent  # the base of the dialplan's own, never sent as such
    ]
    assert len(texts) > 10
    for text in texts:
        assert re.search(ENGINE_EVENTS, text) is not None, text
    for name in ("HangupRequest", "SoftHangupRequest", "AgentCalled", "Newchannel", "VarSet"):
        assert re.search(ENGINE_EVENTS, f"Event: {name}\r\nPrivilege: call,all\r\n") is None
    assert re.search(ENGINE_EVENTS, "Event: UserEvent\r\nUserEvent: IvrBenchDone\r\n") is None


def test_queue_log_goes_to_its_file() -> None:
    """app_queue's events and the engine's own (AMI QueueLog) in /var/log/asterisk/queue_log."""
    general = render(False)["logger.conf"].split("[logfiles]")[0]
    for setting in ("queue_log = yes", "queue_log_to_file = yes", "queue_log_name = queue_log"):
        assert setting in general.splitlines()

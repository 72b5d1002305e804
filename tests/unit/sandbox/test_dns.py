"""The sandbox DNS server's SRV records (hagi://) and the IVR_AGI URL base."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.queues.model import load_queues
from ivr.sandbox import dns
from ivr.sandbox.asterisk_conf import AsteriskSettings, agi_url, render_asterisk_config
from ivr.sandbox.dns import (
    DNS_ADDRESS,
    RESOLV_CONF,
    SrvTarget,
    dnsmasq_command,
    render_agi_srv,
)


def test_one_srv_record_per_engine_under_the_agi_service_name() -> None:
    text = render_agi_srv(
        "engines.ivr.sandbox", [SrvTarget("127.0.0.1", 4601), SrvTarget("127.0.0.1", 4602, 20, 5)]
    )

    records = [line for line in text.splitlines() if not line.startswith("#")]
    assert records == [
        "srv-host=_agi._tcp.engines.ivr.sandbox,127.0.0.1,4601,10,10",
        "srv-host=_agi._tcp.engines.ivr.sandbox,127.0.0.1,4602,20,5",
    ]


@pytest.mark.parametrize(
    ("name", "targets", "error"),
    [
        ("engines..example", [SrvTarget("127.0.0.1", 4573)], "DNS name"),
        ("engines.example,x", [SrvTarget("127.0.0.1", 4573)], "DNS name"),
        ("engines.example\nsrv-host=x", [SrvTarget("127.0.0.1", 4573)], "DNS name"),
        ("engines.example", [], "no FastAGI target"),
        ("engines.example", [SrvTarget("127.0.0.1", 0)], "port 0"),
        ("engines.example", [SrvTarget("127.0.0.1", 70000)], "port 70000"),
        ("engines.example", [SrvTarget("127.0.0.1", 4573, weight=-1)], "priority/weight"),
        ("engines.example", [SrvTarget("127.0.0.1,1", 4573)], "target host"),
    ],
)
def test_bad_records_are_refused_with_the_reason(
    name: str, targets: list[SrvTarget], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        render_agi_srv(name, targets)


def test_dnsmasq_answers_on_its_loopback_address_only_and_forwards_nothing(tmp_path: Path) -> None:
    command = dnsmasq_command(tmp_path / "srv.conf", tmp_path / "pid", tmp_path / "log")

    assert f"--listen-address={DNS_ADDRESS}" in command
    assert {"--bind-interfaces", "--no-resolv", "--no-hosts", "--port=53"} <= set(command)
    assert DNS_ADDRESS != "127.0.0.53"  # systemd-resolved's
    assert RESOLV_CONF.splitlines()[0] == f"nameserver {DNS_ADDRESS}"


@pytest.mark.parametrize(
    "url", ["agi://127.0.0.1:4573", "agi://engine.example", "hagi://engines.example"]
)
def test_agi_url_bases_accepted(url: str) -> None:
    assert agi_url(url) == url
    conf = render_asterisk_config(
        AsteriskSettings(agi_url=url), load_queues(PROJECT_ROOT / "queues.yaml"), (), sandbox=False
    )["extensions.conf"]
    assert f"IVR_AGI={url}\n" in conf


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:4573",  # no scheme
        "agi://127.0.0.1:4573/inbound",  # a route: the dialplan adds it
        "hagi://engines.example:4573",  # a port disables the SRV lookup
        "agi://a,b",  # the comma starts AGI()'s arguments: not a failover list
        "agi://host ${EVIL}",
    ],
)
def test_bad_agi_url_bases_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="FastAGI URL"):
        agi_url(url)


def test_a_missing_dnsmasq_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dns.shutil, "which", lambda *args, **kwargs: None)

    with pytest.raises(dns.DnsError, match="apt-get install -y dnsmasq-base"):
        dns.SandboxDns(tmp_path).publish("engines.example", [SrvTarget("127.0.0.1", 4573)])


def test_no_pid_of_a_process_that_is_not_our_dnsmasq(tmp_path: Path) -> None:
    server = dns.SandboxDns(tmp_path)
    server.pid_file.write_text(f"{os.getpid()}\n")  # a live process, but not dnsmasq

    assert server.pid() is None
    server.stop()  # nothing of ours runs: this process is left alone
    assert not server.pid_file.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "IVR_AGI=agi://127.0.0.1:4573"),
        (["--agi-host", "10.0.0.5:4573"], "IVR_AGI=agi://10.0.0.5:4573"),
        (["--agi-url", "hagi://engines.example"], "IVR_AGI=hagi://engines.example"),
    ],
)
def test_asterisk_config_writes_the_agi_url(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.cli import main

    monkeypatch.setenv("IVR_AMI_SECRET", "x")
    out = tmp_path / "conf"
    assert main(["asterisk-config", "--out", str(out), "--without-sip-secrets", *args]) == 0
    assert f"{expected}\n" in (out / "extensions.conf").read_text()


@pytest.mark.parametrize(
    "args", [["--agi-url", "hagi://engines.example:4573"], ["--agi-host", "a,b"]]
)
def test_asterisk_config_refuses_a_bad_agi_url(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivr.cli import main

    with pytest.raises(SystemExit):
        main(["asterisk-config", "--out", str(tmp_path), *args])
    assert "FastAGI URL" in capsys.readouterr().err


def test_a_dnsmasq_whose_pid_file_was_lost_is_still_found_and_stopped(tmp_path: Path) -> None:
    server = dns.SandboxDns(tmp_path)
    # a process that looks like our dnsmasq (its argv), whose pid file is gone
    argv = [
        "/usr/sbin/dnsmasq",
        "-c",
        "import time; time.sleep(30)",
        f"--pid-file={server.pid_file}",
    ]
    orphan = subprocess.Popen(argv, executable=sys.executable)
    try:
        assert server.pid() == orphan.pid
        server.stop()
        assert orphan.wait(timeout=5) is not None and server.pid() is None
    finally:
        orphan.kill()

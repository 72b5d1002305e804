"""A SIP tool that is not installed fails the test with the package to install, never skips."""

from pathlib import Path

import pytest

from ivr.sandbox.calls.sip.baresip import BaresipError, Phone
from ivr.sandbox.calls.sip.rtp import Capture, CaptureError
from ivr.sandbox.calls.sip.sipp import Sipp, SippError, scenario


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@pytest.mark.usefixtures("no_tools")
def test_missing_tcpdump(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"tcpdump is not installed.*system-deps"):
        Capture(tmp_path / "c.pcap", (5060, 5061)).__enter__()


@pytest.mark.usefixtures("no_tools")
def test_missing_sipp(tmp_path: Path) -> None:
    with pytest.raises(SippError, match="sip-tester"):
        Sipp(scenario("caller", tmp_path), target="127.0.0.1:5060")


@pytest.mark.usefixtures("no_tools")
def test_missing_baresip(tmp_path: Path) -> None:
    with pytest.raises(BaresipError, match="baresip is not installed"):
        Phone(tmp_path, "1001", sip_port=5090)


@pytest.mark.usefixtures("no_tools")
async def test_the_demo_without_sipp_or_baresip_says_what_to_install(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ivr.config import load_settings
    from ivr.demo.tour import run_demo

    assert await run_demo(load_settings(env={})) == 2
    error = capsys.readouterr().err
    assert "sipp is not installed (Debian: sip-tester)" in error, error
    assert "scripts/system-deps.sh" in error

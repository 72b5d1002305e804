"""systemd/ivr.service: a notify service with a 5 s watchdog that always restarts."""

import configparser
import shutil
import subprocess
from pathlib import Path

from ivr.config import PROJECT_ROOT

UNIT = PROJECT_ROOT / "systemd" / "ivr.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_the_unit_restarts_a_stalled_engine_within_seconds() -> None:
    service = _service()
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "5" and service["TimeoutAbortSec"] == "2"
    assert service["Restart"] == "always" and service["RestartSec"] == "1"
    assert service["ExecStart"].endswith("/ivr serve")


def test_the_unit_is_hardened() -> None:
    service = _service()
    assert service["User"] == "ivr"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # systemd not installed: the checks above still hold
        return
    text = UNIT.read_text().replace("/opt/ivr/.venv/bin/ivr", "/bin/true")
    text = text.replace("EnvironmentFile=/", "EnvironmentFile=-/")
    (tmp_path / "ivr.service").write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "ivr.service")], capture_output=True, text=True
    )
    assert result.returncode == 0 and "ivr.service" not in result.stderr, result.stderr

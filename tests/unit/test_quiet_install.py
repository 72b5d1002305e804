"""scripts/quiet.sh, the Makefile's installer steps: one line on the terminal, the output
in the install log, and the log's end when a step fails."""

import subprocess
from pathlib import Path

from ivr.config import PROJECT_ROOT

QUIET = PROJECT_ROOT / "scripts" / "quiet.sh"


def run(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    log = tmp_path / "var" / "install.log"
    return subprocess.run(
        ["bash", str(QUIET), "pip: installing", *command],
        capture_output=True,
        text=True,
        env={"INSTALL_LOG": str(log), "PATH": "/usr/bin:/bin"},
        timeout=30,
        check=False,
    )


def test_a_step_prints_one_line_and_logs_its_output(tmp_path: Path) -> None:
    done = run(tmp_path, "bash", "-c", "for i in $(seq 100); do echo progress $i; done")
    assert (done.returncode, done.stdout, done.stderr) == (0, "pip: installing ... ok\n", "")
    log = (tmp_path / "var" / "install.log").read_text()
    assert "pip: installing" in log and "progress 100" in log


def test_a_failed_step_shows_the_end_of_the_log_and_fails(tmp_path: Path) -> None:
    done = run(tmp_path, "bash", "-c", "seq 50; echo 'E: no such package' >&2; exit 7")
    assert done.returncode == 7
    lines = done.stdout.splitlines()
    assert (
        lines[0] == f"pip: installing ... FAILED (exit 7); the end of {tmp_path}/var/install.log:"
    )
    assert lines[-1] == "  | E: no such package" and "  | 50" in lines and "  | 1" not in lines

"""docker/ cannot run here: check that it references files that exist and keeps secrets out."""

import re
import subprocess
from pathlib import Path

import yaml

from ivr.config import PROJECT_ROOT

DOCKER = PROJECT_ROOT / "docker"


def _copies(dockerfile: Path) -> list[str]:
    sources = []
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"COPY\s+(?!--from)(.+)", line.strip())
        if match:
            sources += match.group(1).split()[:-1]
    return sources


def test_compose_builds_reference_existing_dockerfiles() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    builds = [s["build"] for s in compose["services"].values() if "build" in s]
    assert len(builds) == 2
    for build in builds:
        context = (DOCKER / build["context"]).resolve()
        assert context == PROJECT_ROOT
        assert (context / build["dockerfile"]).is_file()


def test_every_copy_source_exists_in_the_build_context() -> None:
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "asterisk" / "Dockerfile"):
        sources = _copies(dockerfile)
        assert sources, dockerfile
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), f"{dockerfile}: COPY {source} is missing"


def test_engine_shares_asterisk_network_so_ami_and_agi_stay_on_loopback() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert compose["services"]["engine"]["network_mode"] == "service:asterisk"
    assert compose["services"]["engine"]["environment"]["IVR_AMI_HOST"] == "127.0.0.1"


def test_secrets_are_not_committed() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    secret_file = compose["secrets"]["ami_secret"]["file"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(DOCKER / secret_file)], cwd=PROJECT_ROOT
    )
    assert ignored.returncode == 0, f"{secret_file} must be git-ignored"
    assert "__AMI_SECRET__" in (DOCKER / "asterisk" / "entrypoint.sh").read_text()


def test_the_engine_runs_under_the_watchdog() -> None:
    """A stalled engine is killed and restarted by `ivr supervise`, not left to docker."""
    cmd = [
        line for line in (DOCKER / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    ]
    assert cmd and cmd[-1].startswith('CMD ["ivr", "supervise"'), cmd
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    engine = compose["services"]["engine"]
    assert engine["init"] is True and engine["restart"] == "unless-stopped"

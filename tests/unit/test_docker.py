"""docker/ cannot run here: check that it references files that exist and keeps secrets out."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ivr.config import PROJECT_ROOT
from ivr.queues.model import load_queues

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


def test_sip_and_the_rtp_range_of_telephony_yaml_are_published() -> None:
    from ivr.telephony.sip_config import load_telephony

    telephony = load_telephony(PROJECT_ROOT / "telephony.yaml")
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    ports = compose["services"]["asterisk"]["ports"]
    rtp = f"{telephony.rtp_start}-{telephony.rtp_end}"
    assert "5060:5060/udp" in ports and f"{rtp}:{rtp}/udp" in ports
    assert f"EXPOSE 5060/udp {rtp}/udp" in (DOCKER / "asterisk" / "Dockerfile").read_text()
    secret = compose["secrets"]["pjsip_auth"]["file"]
    ignored = subprocess.run(["git", "check-ignore", "-q", str(DOCKER / secret)], cwd=PROJECT_ROOT)
    assert ignored.returncode == 0, f"{secret} must be git-ignored"


def test_image_config_has_no_sip_password_and_listens_on_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.cli import main

    out = tmp_path / "conf"
    args = ["asterisk-config", "--out", str(out), "--sip-bind", "0.0.0.0", "--without-sip-secrets"]
    monkeypatch.setenv("IVR_AMI_SECRET", "x")
    assert main(args) == 0
    assert not (out / "pjsip_auth.conf").exists()
    pjsip = (out / "pjsip.conf").read_text()
    assert "bind = 0.0.0.0:5060" in pjsip and "password" not in pjsip
    assert (
        "--sip-bind 0.0.0.0 --without-sip-secrets"
        in (DOCKER / "asterisk" / "Dockerfile").read_text()
    )


def test_asterisk_config_writes_phone_passwords_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.cli import main

    out, secrets = tmp_path / "conf", tmp_path / "private" / "sip.conf"
    monkeypatch.setenv("IVR_AMI_SECRET", "x")
    assert main(["asterisk-config", "--out", str(out), "--sip-secrets", str(secrets)]) == 0
    assert (out / "pjsip_auth.conf").stat().st_mode & 0o777 == 0o600
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert "phone-1001 = " in secrets.read_text()
    assert "username = 1001" in (out / "pjsip_auth.conf").read_text()


def test_asterisk_and_the_engine_share_the_recordings_directory() -> None:
    """Asterisk writes the recordings where queues.yaml says; the engine reads the same
    volume there (to serve and expire them)."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    directory = load_queues(PROJECT_ROOT / "queues.yaml").recordings.directory
    mount = f"recordings:{directory}"
    services = compose["services"]
    assert any(v.startswith(mount) for v in services["asterisk"]["volumes"])
    assert any(v.startswith(mount) for v in services["engine"]["volumes"])
    assert services["engine"]["environment"]["IVR_RECORDINGS_DIR"] == directory
    assert "recordings" in compose["volumes"]


def test_two_engines_serve_menus_behind_hagi_and_share_one_database() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    engines = [services["engine"], services["engine-2"]]
    agi = ["127.0.0.1:4573", engines[1]["environment"]["IVR_AGI_BIND"]]
    assert agi[0] != agi[1]
    assert services["asterisk"]["environment"]["IVR_ENGINES"].split() == agi
    assert {e["network_mode"] for e in engines} == {"service:asterisk"}
    assert len({e["environment"]["IVR_ENGINE_ID"] for e in engines}) == 2
    assert len({e["environment"]["IVR_DATABASE_URL"] for e in engines}) == 1
    assert all(e["environment"]["IVR_DATABASE_URL"].startswith("postgresql") for e in engines)
    assert all(e["restart"] == "unless-stopped" and e["init"] is True for e in engines)
    assert "8081:8081" in services["asterisk"]["ports"]
    entrypoint = (DOCKER / "asterisk" / "entrypoint.sh").read_text()
    assert "--srv-host=_agi._tcp.engines.ivr" in entrypoint
    # the dialplan's FastAGI target becomes those SRV records, and the image has dnsmasq
    assert "s|^IVR_AGI=.*|IVR_AGI=hagi://engines.ivr|" in entrypoint
    assert "dnsmasq-base" in (DOCKER / "asterisk" / "Dockerfile").read_text()

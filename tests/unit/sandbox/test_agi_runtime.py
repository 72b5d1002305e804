"""What the sandbox gives the classic AGI scripts (no chroot needed for these parts)."""

from dataclasses import replace
from pathlib import Path

import yaml

from ivr.config import PROJECT_ROOT, Settings, load_settings
from ivr.offline.runtime import load_config
from ivr.sandbox import agi_runtime


def test_the_scripts_get_the_engines_database_as_seen_from_the_chroot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    pg = "postgresql+psycopg://ivr@db.example/ivr"
    inside = f"sqlite:///{root / 'var/lib/ivr/ivr.db'}"
    outside = f"sqlite:///{tmp_path / 'ivr.db'}"
    shared = agi_runtime.shared_settings(
        replace(Settings(), database_url=pg, phone_country_code="380"), root
    )
    assert shared == {"phone_country_code": "380", "db_call_timeout": 1.5, "database_url": pg}
    in_chroot = agi_runtime.shared_settings(replace(Settings(), database_url=inside), root)
    assert in_chroot["database_url"] == "sqlite:////var/lib/ivr/ivr.db"
    out_of_reach = agi_runtime.shared_settings(replace(Settings(), database_url=outside), root)
    assert "database_url" not in out_of_reach


def test_the_settings_file_is_the_engines_format_on_copies_of_its_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    agi_runtime.write_settings(
        root, PROJECT_ROOT / "flows", PROJECT_ROOT / "queues.yaml", {"phone_country_code": "380"}
    )
    path = root / "etc/ivr/ivr.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert values["flows_dir"] == "/etc/ivr/flows"
    assert values["prompt_cache_dir"] == Settings().prompt_sound_prefix
    # what the scripts will read, once the chroot's paths are this test's
    settings = load_settings(path, env={})
    assert settings.phone_country_code == "380"
    here = replace(
        settings,
        flows_dir=str(root / "etc/ivr/flows"),
        queues_file=str(root / "etc/ivr/queues.yaml"),
    )
    assert "5558000" in load_config(here).library.lines
    # written again (a later `ivr sandbox up`): replaced, not merged into
    (root / "etc/ivr/flows/stale.yaml").write_text("name: [", encoding="utf-8")
    agi_runtime.write_settings(root, PROJECT_ROOT / "flows", PROJECT_ROOT / "queues.yaml", {})
    assert not (root / "etc/ivr/flows/stale.yaml").exists()


def test_the_code_and_scripts_are_copied_without_byte_code(tmp_path: Path) -> None:
    agi_runtime.install_code(tmp_path)
    lib = tmp_path / agi_runtime.LIB_DIR
    assert (lib / "ivr/offline/scripts.py").exists()
    assert (lib / "asterisk/agi.py").exists()
    assert not list(lib.rglob("__pycache__"))
    script = tmp_path / agi_runtime.AGI_BIN / "fallback_route.py"
    assert script.stat().st_mode & 0o755 == 0o755

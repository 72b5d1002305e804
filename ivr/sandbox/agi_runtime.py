"""What the sandbox's Asterisk needs to run the classic AGI scripts (agi_scripts/) with the
engine down: Debian's python3 with the engine's libraries, the ivr package and pyst2 in
/opt/ivr-agi, the scripts in its agi-bin, and the engine's settings in /etc/ivr.

The chroot's resolver is the sandbox's dnsmasq (no upstream): apt runs with the host's
resolv.conf bound over it in a private mount namespace, seen by apt alone.
"""

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import asterisk.agi
import yaml
from sqlalchemy.engine import make_url

from ivr.config import PROJECT_ROOT, Settings

PACKAGES = (
    "python3",
    "python3-yaml",
    "python3-sqlalchemy",
    "python3-alembic",  # ivr.storage.db imports it
    "python3-psycopg",  # PostgreSQL
    "python3-six",  # pyst2 imports it
    "espeak-ng",  # prompts with the caller's digits in them, rendered as the engine does
    "sox",
)
LIB_DIR = "opt/ivr-agi"  # in the chroot; the scripts put it on sys.path
AGI_BIN = "usr/share/asterisk/agi-bin"  # asterisk.conf astagidir
SETTINGS_DIR = "etc/ivr"  # ivr.yaml (ivr.offline.runtime.SETTINGS_FILE), flows/, queues.yaml
CHROOT_SOUNDS = Settings().prompt_sound_prefix  # the engine's prompt cache, as seen inside
APT_SCRIPT = r"""set -e
root=$1
shift
mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
exec chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "$@"' sh "$@"
"""


class AgiRuntimeError(RuntimeError):
    """The chroot cannot get what the scripts need; the message says why."""


def missing_packages(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    shown = subprocess.run(
        ["chroot", str(root), "dpkg-query", "-W", "-f=${Package} ${Status}\\n", *packages],
        capture_output=True,
        text=True,
    ).stdout
    installed = {line.split()[0] for line in shown.splitlines() if line.endswith(" installed")}
    return [name for name in packages if name not in installed]


def install_packages(root: Path, packages: list[str]) -> None:
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", APT_SCRIPT, "sh",
         str(root), *packages],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise AgiRuntimeError(
            f"installing {' '.join(packages)} into {root} failed ({result.returncode}): "
            f"{result.stderr.strip()[-2000:]}"
        )


def _replace_tree(source: Path, target: Path) -> None:
    """`target` becomes a copy of `source` (no byte code), swapped in whole."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def install_code(root: Path) -> None:
    """The ivr package and pyst2's `asterisk` package into /opt/ivr-agi, the scripts into
    agi-bin."""
    lib = root / LIB_DIR
    lib.mkdir(parents=True, exist_ok=True)
    _replace_tree(PROJECT_ROOT / "ivr", lib / "ivr")
    _replace_tree(Path(asterisk.agi.__file__).parent, lib / "asterisk")
    agi_bin = root / AGI_BIN
    agi_bin.mkdir(parents=True, exist_ok=True)
    for script in sorted((PROJECT_ROOT / "agi_scripts").glob("*.py")):
        shutil.copyfile(script, agi_bin / script.name)
        (agi_bin / script.name).chmod(0o755)


def write_settings(
    root: Path, flows_dir: Path, queues_file: Path, settings: Mapping[str, object]
) -> None:
    """The engine's flows and queues.yaml, and its settings as the scripts read them."""
    where = root / SETTINGS_DIR
    where.mkdir(parents=True, exist_ok=True)
    _replace_tree(flows_dir, where / "flows")
    shutil.copyfile(queues_file, where / "queues.yaml")
    inside = "/" + SETTINGS_DIR
    values = {
        "flows_dir": f"{inside}/flows",
        "queues_file": f"{inside}/queues.yaml",
        "prompt_sound_prefix": CHROOT_SOUNDS,
        "prompt_cache_dir": CHROOT_SOUNDS,
        **settings,
    }
    text = "# Written by `ivr sandbox up`: the engine's settings the AGI scripts read.\n"
    (where / "ivr.yaml").write_text(text + yaml.safe_dump(values), encoding="utf-8")


def shared_settings(settings: Settings, root: Path) -> dict[str, object]:
    """The engine's settings the scripts share: its database as seen from the chroot (a
    SQLite file outside the chroot is out of their reach: left out, the scripts then find
    no directory and take the plain fallback), and how it reads caller IDs."""
    shared: dict[str, object] = {
        "phone_country_code": settings.phone_country_code,
        "db_call_timeout": settings.db_call_timeout,
    }
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        shared["database_url"] = settings.database_url
    elif url.database and Path(url.database).resolve().is_relative_to(root.resolve()):
        inside = Path(url.database).resolve().relative_to(root.resolve())
        shared["database_url"] = f"sqlite:////{inside}"
    return shared


def install(root: Path, flows_dir: Path, queues_file: Path, settings: Mapping[str, object]) -> None:
    """Everything the scripts need (packages only when missing: apt needs the network)."""
    missing = missing_packages(root)
    if missing:
        install_packages(root, missing)
    install_code(root)
    write_settings(root, flows_dir, queues_file, settings)

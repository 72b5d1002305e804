"""A copy of the sandbox chroot for a second Asterisk, made safely.

`cp -a` descends into a /proc mounted inside a chroot and fills the disk, so a chroot is
only ever copied with `cp -a --one-file-system` from a view that has nothing mounted below
it: a plain (non-recursive) bind mount of the source in a private mount namespace, checked
before the copy.
The copy is made once and again only when the source was rebuilt since.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
COPY_STAMP = ".ivr-copied-from"  # in the copy: the source and its build stamp's time


class ChrootCopyError(RuntimeError):
    """The chroot cannot be copied safely; the message says why and what to do."""


def _unescape(field: str) -> str:
    """A mountinfo path: spaces, tabs, newlines and backslashes are octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mounts_below(path: Path, mountinfo: Path = MOUNTINFO) -> list[str]:
    """Mount points strictly below `path` (e.g. a chroot's /proc)."""
    top = str(path.resolve()).rstrip("/") + "/"
    found = []
    for line in mountinfo.read_text().splitlines():
        fields = line.split(" ")
        if len(fields) > 4 and _unescape(fields[4]).startswith(top):
            found.append(_unescape(fields[4]))
    return found


def copy_stamp(source_root: Path, stamp: str) -> str:
    """What the copy records of its source: the path and its build stamp's change time."""
    return f"{source_root.resolve()}\n{(source_root / stamp).stat().st_mtime_ns}\n"


def is_current(source_root: Path, target_root: Path, stamp: str) -> bool:
    recorded = target_root / COPY_STAMP
    return recorded.exists() and recorded.read_text() == copy_stamp(source_root, stamp)


def remove_tree(root: Path) -> None:
    """Delete a chroot copy, refusing while anything (its /proc) is mounted inside it."""
    if mounted := mounts_below(root):
        raise ChrootCopyError(f"not deleting {root}: mounted inside it: {', '.join(mounted)}")
    if root.exists():
        shutil.rmtree(root)


# Run by `unshare --mount --propagation private`: the bind mount exists only in that
# private mount namespace and vanishes with it (nothing to clean up, nothing propagated).
COPY_SCRIPT = r"""set -e
mount --bind "$1" "$2"
below=$(awk -v top="$2/" 'index($5, top) == 1 {print $5}' /proc/self/mountinfo)
if [ -n "$below" ]; then echo "refusing to copy $1: mounted below its view: $below" >&2; exit 3; fi
exec cp -a --one-file-system "$2/." "$3"
"""


def copy_chroot(source_root: Path, target_root: Path, stamp: str) -> None:
    """Copy `source_root` to `target_root` (replacing an older copy) through a private bind
    mount of the source, so none of its mounts (/proc while it runs) is seen or copied."""
    if not (source_root / stamp).exists():
        raise ChrootCopyError(f"{source_root} is not a built sandbox (no {stamp})")
    for tool in ("unshare", "cp", "awk"):
        if shutil.which(tool) is None:
            raise ChrootCopyError(f"{tool} is not installed (Debian: util-linux, coreutils, mawk)")
    partial = target_root.parent / (target_root.name + ".partial")
    remove_tree(partial)
    target_root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_root.parent, prefix=".copy-source-") as view:
        result = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", COPY_SCRIPT,
             "sh", str(source_root), view, str(partial)],
            capture_output=True, text=True,
        )  # fmt: skip
    if result.returncode != 0:
        raise ChrootCopyError(
            f"copying {source_root} to {partial} failed ({result.returncode}): "
            f"{result.stderr.strip()[-2000:]}"
        )
    (partial / COPY_STAMP).write_text(copy_stamp(source_root, stamp))
    remove_tree(target_root)
    partial.rename(target_root)

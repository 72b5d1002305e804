"""Copying a chroot for the second Asterisk: never through a /proc (or anything) mounted
inside it, once, and again only when the source was rebuilt. The copy tests mount a real
filesystem inside the source, so they need root (as `make test` runs)."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.sandbox.chroot_copy import (
    COPY_STAMP,
    ChrootCopyError,
    copy_chroot,
    is_current,
    mounts_below,
    remove_tree,
)

STAMP = ".ivr-built"
MOUNTINFO = (
    "22 1 8:1 / / rw shared:1 - ext4 /dev/vda rw\n"
    "90 22 0:5 / /var/lib/ivr/sandbox/root/proc rw - proc proc rw\n"
    "91 22 0:6 / /var/lib/ivr/sandbox-2/root/dev/my\\040disk rw - tmpfs tmpfs rw\n"
    "92 22 0:7 / /var/lib/ivr/sandbox/rootfs rw - tmpfs tmpfs rw\n"
)


def test_mounts_below_reads_mountinfo(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    assert mounts_below(Path("/var/lib/ivr/sandbox/root"), info) == [
        "/var/lib/ivr/sandbox/root/proc"
    ]  # not rootfs (a sibling whose name starts the same)
    assert mounts_below(Path("/var/lib/ivr/sandbox-2"), info) == [
        "/var/lib/ivr/sandbox-2/root/dev/my disk"
    ]
    assert mounts_below(Path("/var/lib/ivr/sandbox/root/proc"), info) == []


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("copying a chroot (bind mounts in a private namespace) needs root")


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Path]:
    """A tiny 'chroot' with a tmpfs mounted at its proc/, like a running sandbox."""
    require_root()
    root = tmp_path / "src" / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hello").write_text("hi")
    (root / "etc" / "link").symlink_to("hello")
    (root / "proc").mkdir()
    (root / STAMP).write_text("Asterisk 22")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "fake-proc", str(root / "proc")],
                   check=True)  # fmt: skip
    (root / "proc" / "kcore").write_text("must never be copied")
    yield root
    subprocess.run(["umount", str(root / "proc")], check=True)


def test_copy_leaves_out_what_is_mounted_inside_the_source(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "peer" / "root"
    copy_chroot(source, target, STAMP)
    assert (target / "etc" / "hello").read_text() == "hi"
    assert (target / "etc" / "link").is_symlink()
    assert (target / "proc").is_dir() and list((target / "proc").iterdir()) == []
    assert (source / "proc" / "kcore").exists()  # the source's mount is untouched
    assert mounts_below(tmp_path / "peer") == []  # no bind mount left behind
    assert [p.name for p in (tmp_path / "peer").iterdir()] == ["root"]
    assert is_current(source, target, STAMP)
    assert (target / COPY_STAMP).exists()


def test_a_rebuilt_source_makes_the_copy_outdated(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "peer" / "root"
    copy_chroot(source, target, STAMP)
    (target / "etc" / "local-change").write_text("x")
    os.utime(source / STAMP, ns=(1, 1))  # rebuilt: a new build stamp
    assert not is_current(source, target, STAMP)
    copy_chroot(source, target, STAMP)
    assert is_current(source, target, STAMP)
    assert not (target / "etc" / "local-change").exists()  # a fresh copy replaced it


def test_no_copy_of_an_unbuilt_source(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(ChrootCopyError, match="not a built sandbox"):
        copy_chroot(tmp_path / "src", tmp_path / "dst", STAMP)


def test_a_tree_with_a_mount_inside_is_never_deleted(source: Path) -> None:
    with pytest.raises(ChrootCopyError, match="mounted inside it"):
        remove_tree(source)
    assert (source / "etc" / "hello").exists()

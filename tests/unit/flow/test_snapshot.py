"""flows/ as content: snapshots, their digest and diff, and restoring one atomically."""

import shutil
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.flow.loader import FlowError, validate_library
from ivr.flow.snapshot import changed_files, digest, read_snapshot, restore, unified_diff


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows"))


def test_a_snapshot_holds_the_flow_files_only(flows: Path) -> None:
    (flows / "notes.txt").write_text("not a flow file", encoding="utf-8")
    (flows / "sub.yaml").mkdir()
    files = read_snapshot(flows)
    assert set(files) == {p.name for p in (PROJECT_ROOT / "flows").iterdir()}
    assert files["main.yaml"] == (flows / "main.yaml").read_text(encoding="utf-8")


def test_equal_content_has_one_digest_and_any_edit_changes_it() -> None:
    assert digest({"a.yaml": "1", "b.yaml": "2"}) == digest({"b.yaml": "2", "a.yaml": "1"})
    assert digest({"a.yaml": "1"}) != digest({"a.yaml": "1 "})
    assert digest({"a.yaml": "1"}) != digest({"b.yaml": "1"})


def test_the_diff_names_added_removed_and_edited_files() -> None:
    old = {"main.yaml": "a: 1\nb: 2\n", "gone.yaml": "x: 1\n"}
    new = {"main.yaml": "a: 1\nb: 3\n", "new.csv": "n\n"}
    assert changed_files(old, new) == ["gone.yaml", "main.yaml", "new.csv"]
    diff = unified_diff(old, new)
    assert "--- a/gone.yaml\n+++ /dev/null\n" in diff
    assert "--- a/main.yaml\n+++ b/main.yaml\n" in diff and "-b: 2\n+b: 3\n" in diff
    assert "--- /dev/null\n+++ b/new.csv\n" in diff
    assert unified_diff(old, old) == ""


def test_a_missing_final_newline_is_marked_not_glued_to_the_next_file() -> None:
    diff = unified_diff({"a.yaml": "x: 1", "b.yaml": "y: 1\n"}, {"a.yaml": "x: 2", "b.yaml": ""})
    assert "+x: 2\n\\ No newline at end of file\n--- a/b.yaml" in diff


def test_restore_puts_exactly_the_version_back(flows: Path) -> None:
    old = read_snapshot(flows)
    (flows / "support.yaml").write_text(
        old["support.yaml"].replace('"2": tv', '"2": extra'), encoding="utf-8"
    )
    (flows / "extra.yaml").write_text("name: extra\nstart: a\nnodes: {a: {type: hangup}}\n")
    restore(flows, old, validate_library)
    assert read_snapshot(flows) == old  # edited file back, added file gone
    assert [p.name for p in flows.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_version_that_does_not_load_changes_nothing_on_disk(flows: Path) -> None:
    before = read_snapshot(flows)
    broken = {**before, "support.yaml": before["support.yaml"].replace('"2": tv', '"2": nowhere')}
    with pytest.raises(FlowError) as failed:
        restore(flows, broken, validate_library)
    assert read_snapshot(flows) == before
    assert any(e.startswith("support.yaml:") and "nowhere" in e for e in failed.value.errors)
    assert [p.name for p in flows.iterdir() if p.name.startswith(".")] == []


def test_a_file_name_with_a_path_is_refused(flows: Path) -> None:
    with pytest.raises(ValueError, match=r"not a flows/ file name: \.\./evil\.yaml"):
        restore(flows, {"../evil.yaml": "x: 1\n"}, validate_library)

"""Files in flows/ that are not what they seem: each is one exact problem, read without
blocking or following a link out of the directory."""

import os
from pathlib import Path

import pytest

from ivr.files import UnsafeFile, read_limited
from ivr.flow.loader import MAX_FLOW_FILES, validate_library
from ivr.queues.model import validate_queues
from ivr.yamlfiles.problems import Problem, printable
from tests.unit.flow.test_loader_corpus import GOOD, problems, write


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(write(tmp_path, {}) / "pipe.yaml")  # open() for reading would block forever
    assert problems(tmp_path) == ["pipe.yaml: refused: a named pipe (FIFO), not a regular file"]


@pytest.mark.parametrize("name", ["lines.yaml", "prompts.yaml", "calendar.yaml", "lines.csv"])
def test_a_fifo_in_place_of_any_file_is_refused(tmp_path: Path, name: str) -> None:
    write(tmp_path, {})
    (tmp_path / name).unlink(missing_ok=True)
    os.mkfifo(tmp_path / name)
    assert problems(tmp_path) == [f"{name}: refused: a named pipe (FIFO), not a regular file"]


def test_a_link_to_a_device_outside_is_refused(tmp_path: Path) -> None:
    (write(tmp_path, {}) / "random.yaml").symlink_to("/dev/urandom")  # once read forever
    assert problems(tmp_path) == [f"random.yaml: refused: a link to a file outside {tmp_path}"]


def test_a_link_to_a_file_outside_is_refused(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    write(flows, {})
    (tmp_path / "secret.yaml").write_text("name: s\nstart: h\nnodes: {h: {type: hangup}}\n")
    (flows / "s.yaml").symlink_to(tmp_path / "secret.yaml")
    assert problems(flows) == [f"s.yaml: refused: a link to a file outside {flows}"]


def test_a_link_inside_the_directory_is_read(tmp_path: Path) -> None:
    # as a Kubernetes ConfigMap mounts files: name -> ..data/name, all in the directory
    write(tmp_path, {})
    (tmp_path / "..data").mkdir()
    (tmp_path / "g.yaml").rename(tmp_path / "..data" / "g.yaml")
    (tmp_path / "g.yaml").symlink_to(tmp_path / "..data" / "g.yaml")
    assert problems(tmp_path) == []


def test_a_directory_a_dangling_link_and_a_link_loop(tmp_path: Path) -> None:
    write(tmp_path, {})
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    assert problems(tmp_path) == [
        "dir.yaml: refused: a directory, not a regular file",
        "gone.yaml: cannot read: No such file or directory",
        f"loop.yaml: refused: a link to a file outside {tmp_path}",
    ]


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    (write(tmp_path, {}) / "big.yaml").write_text("#" * 300_000)
    assert problems(tmp_path) == ["big.yaml: refused: 300000 bytes (at most 262144)"]


def test_a_huge_lines_csv_is_refused(tmp_path: Path) -> None:
    (write(tmp_path, {}) / "lines.csv").write_text("number\n" + "5551000\n" * 150_000)
    assert problems(tmp_path) == ["lines.csv: refused: 1200007 bytes (at most 1048576)"]


def test_too_many_flow_files_refuse_the_directory(tmp_path: Path) -> None:
    write(tmp_path, {})
    for index in range(MAX_FLOW_FILES):
        (tmp_path / f"x{index}.yaml").write_text("")
    assert [str(p) for p in validate_library(tmp_path).problems] == [
        f"{tmp_path}: refused: {MAX_FLOW_FILES + 2} flow files (at most {MAX_FLOW_FILES})"
    ]


def test_too_many_bytes_in_all_refuse_the_directory(tmp_path: Path) -> None:
    write(tmp_path, {})
    for index in range(9):
        (tmp_path / f"x{index}.yaml").write_text("#" * 250_000)
    total = sum(len(text.encode()) for text in GOOD.values()) + 9 * 250_000
    assert [str(p) for p in validate_library(tmp_path).problems] == [
        f"{tmp_path}: refused: {total} bytes of .yaml and .csv files (at most 2097152)"
    ]


def test_a_file_given_as_the_directory(tmp_path: Path) -> None:
    path = write(tmp_path, {}) / "f.yaml"
    assert [str(p) for p in validate_library(path).problems] == [f"{path}: not a directory"]


def test_queues_yaml_as_a_fifo_or_a_link_out(tmp_path: Path) -> None:
    path = tmp_path / "queues.yaml"
    os.mkfifo(path)
    assert [str(p) for p in validate_queues(path)[1]] == [
        f"{path}: refused: a named pipe (FIFO), not a regular file"
    ]
    path.unlink()
    path.symlink_to("/dev/zero")
    assert [str(p) for p in validate_queues(path)[1]] == [
        f"{path}: refused: a link to a file outside {tmp_path}"
    ]


def test_read_limited_stops_at_the_limit_and_refuses_special_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_limited(path, 10) == b"x" * 10
    with pytest.raises(UnsafeFile, match=r"^refused: 10 bytes \(at most 9\)$"):
        read_limited(path, 9)
    with pytest.raises(UnsafeFile, match="a character device"):
        read_limited(Path("/dev/zero"), 100)


def test_problems_print_on_one_line_whatever_they_hold() -> None:
    problem = Problem("f\udcff.yaml", ("nodes", "a\nb\u202e"), "bad\x07\ud800", (1, 2))
    assert str(problem) == "f\\udcff.yaml:1:2: nodes.a\\nb\\u202e: bad\\x07\\ud800"
    assert printable("x" * 5000) == "x" * 999 + "…"
    assert printable("Привіт, ١٢٣ 🙂\t") == "Привіт, ١٢٣ 🙂\\t"

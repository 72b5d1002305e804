"""Flow-file problems located as file:line:col, for supervisors editing YAML.

Flows and queues.yaml are read here (`read_yaml`): safely (ivr.files), with YAML limits
(ivr.yamlfiles.safe_yaml), each problem one printable line.
"""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, TypeVar

import yaml

from ivr.files import UnsafeFile, read_limited
from ivr.yamlfiles.safe_yaml import Position, YamlProblem, compose, construct

Path = tuple[str | int, ...]
MAX_YAML_BYTES = 256 * 1024  # a flow of thousands of lines; parsing it takes about 1 s
MAX_LINE = 1000  # characters of one problem shown
_UNSAFE = {"Cc", "Cs", "Zl", "Zp"}  # control characters, lone surrogates, line breaks
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True)
class Problem:
    file: str
    path: Path
    message: str
    position: Position | None = None
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.position[0]}:{self.position[1]}" if self.position else self.file
        kind = "warning: " if self.warning else ""
        key = f"{dotted(self.path)}: " if self.path else ""
        return printable(f"{where}: {kind}{key}{self.message}")


def printable(text: str) -> str:
    """One line any terminal or log shows as it is: control characters, line breaks, lone
    surrogates and bidirectional overrides escaped (\\x07, \\ud800), at most MAX_LINE long."""
    if len(text) > MAX_LINE:
        text = text[: MAX_LINE - 1] + "…"
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _UNSAFE or ch in _BIDI
        else ch
        for ch in text
    )


@dataclass
class Located:
    """YAML data with the position of every value and mapping key, and duplicate keys."""

    data: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    duplicates: list[Path] = field(default_factory=list)


def _mark(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path, out: Located) -> None:
    out.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            if child in out.keys:
                out.duplicates.append(child)
            out.keys[child] = _mark(key_node)
            _walk(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


def load_located(text: str) -> Located:
    """Parse YAML (safe loader, with limits); yaml.YAMLError with its own line and column,
    YamlProblem for a document over the limits or a value that cannot be built."""
    root = compose(text)
    located = Located(data=None)
    if root is not None:
        _walk(root, (), located)  # before building: merge keys (<<) rewrite the tree
    located.data = construct(root)
    return located


class Problems:
    """Collects the problems of one file, placing each at its key or value."""

    def __init__(self, file: str, located: Located | None = None) -> None:
        self.file = file
        self.located = located
        self.items: list[Problem] = []

    def add(self, path: Path, message: str, *, at_key: bool = False, warning: bool = False) -> None:
        self.items.append(Problem(self.file, path, message, self._position(path, at_key), warning))

    def _position(self, path: Path, at_key: bool) -> Position | None:
        if self.located is None:
            return None
        if at_key and path in self.located.keys:
            return self.located.keys[path]
        for end in range(len(path), -1, -1):
            found = self.located.values.get(path[:end])
            if found:
                return found
        return None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if not p.warning]


def _offset_position(text: str, offset: int) -> Position:
    """The 1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


NOT_UTF8 = "not UTF-8 text: save the file as UTF-8"


def undecodable(exc: UnicodeDecodeError) -> Position:
    """Where in the file the bytes are that are not UTF-8."""
    before = exc.object[: exc.start]
    line = before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")
    return before.count(b"\n") + 1, len(line) + 1


def read_yaml(
    path: FilePath, problems: Problems, within: FilePath | None = None, limit: int = MAX_YAML_BYTES
) -> Located | None:
    """A YAML file with positions, or None after adding the problem that stops reading it.
    With `within`, a link must stay in that directory (see ivr.files)."""

    def fail(message: str, position: Position | None) -> None:
        problems.items.append(Problem(str(path), (), message, position))

    try:
        raw = read_limited(path, limit, path.parent if within is None else within)
        text = raw.decode("utf-8")
    except UnsafeFile as exc:
        problems.add((), str(exc))
        return None
    except OSError as exc:
        problems.add((), f"cannot read: {exc.strerror}")
        return None
    except UnicodeDecodeError as exc:  # e.g. saved as Windows-1251
        fail(NOT_UTF8, undecodable(exc))
        return None
    try:
        located = load_located(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        position = (mark.line + 1, mark.column + 1) if mark else None
        fail(f"not valid YAML: {exc.problem}", position)
        return None
    except yaml.reader.ReaderError as exc:  # a control character
        message = f"not valid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        fail(message, _offset_position(text, exc.position))
        return None
    except YamlProblem as exc:
        fail(exc.message, exc.position)
        return None
    problems.located = located
    for duplicate in located.duplicates:
        problems.add(duplicate, "duplicate key (YAML keeps only the last one)", at_key=True)
    return located


def print_problems(problems: list[Problem]) -> tuple[int, int]:
    """Print each problem on its line (a CLI's validate command); (errors, warnings)."""
    for problem in problems:
        print(problem)
    errors = sum(1 for p in problems if not p.warning)
    return errors, len(problems) - errors


def in_file_order(problems: list[Problem]) -> list[Problem]:
    """In file order, each once (a broken default is met by every entry using it)."""
    return sorted(dict.fromkeys(problems), key=lambda p: p.position or (0, 0))


Model = TypeVar("Model")


def validate_yaml_file(
    path: str | FilePath, check: Callable[[Any, Problems], Model | None]
) -> tuple[Model | None, list[Problem]]:
    """A YAML config file checked by `check`: the model (None on errors) and every problem in
    file order; never raises for bad content."""
    problems = Problems(str(path))
    located = read_yaml(FilePath(path), problems)
    model = check(located.data, problems) if located is not None else None
    return (None if problems.errors else model), in_file_order(problems.items)

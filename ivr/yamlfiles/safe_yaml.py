"""YAML with limits: a hostile file is refused with a position, never expanded or recursed.

PyYAML's safe loader builds nothing dangerous, but an anchor used many times ("billion
laughs": 500 bytes that expand to millions of values), an anchor inside itself (a loop),
deep nesting (a RecursionError) or a huge integer still reach the code that walks the
data. Here the node tree is counted while it is composed (values, depth, aliases) and
measured as expanded before anything walks it; integers are kept to 64 bits.
"""

from dataclasses import dataclass
from typing import Any

import yaml

Position = tuple[int, int]  # 1-based line and column
MAX_INTEGER = 2**63 - 1


@dataclass(frozen=True)
class YamlLimits:
    values: int = 10_000  # nodes, counting each alias as the value it stands for
    depth: int = 50  # mappings and lists inside each other, aliases expanded


YAML_LIMITS = YamlLimits()


class YamlProblem(Exception):
    """The document cannot be used; `message` says why, `position` where."""

    def __init__(self, message: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _position(mark: yaml.Mark | None) -> Position | None:
    return (mark.line + 1, mark.column + 1) if mark else None


class _Loader(yaml.SafeLoader):
    """The safe loader, counting while composing (it stops at the limit, before reading
    the rest) and refusing integers beyond 64 bits."""

    def __init__(self, text: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self.limits = limits
        self.count = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        self.count += 1
        if self.count > self.limits.values:
            raise YamlProblem(f"refused: more than {self.limits.values} values", _position(mark))
        self.depth += 1
        if self.depth > self.limits.depth:
            message = f"refused: nested deeper than {self.limits.depth} levels"
            raise YamlProblem(message, _position(mark))
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = super().construct_yaml_int(node)
        if abs(value) > MAX_INTEGER:
            raise YamlProblem(
                "refused: an integer this large is no setting", _position(node.start_mark)
            )
        return value


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _measure(root: yaml.Node, limits: YamlLimits) -> None:
    """Refuse a tree that, with its aliases expanded, is too large or too deep, or that
    contains itself. Each distinct node is measured once (no expansion happens here)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    started: set[int] = set()  # the nodes on the path being measured
    todo: list[tuple[yaml.Node, bool]] = [(root, False)]
    while todo:
        node, finished = todo.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            started.discard(key)
            where = _position(node.start_mark)
            if size[key] > limits.values:
                message = f"refused: more than {limits.values} values once aliases are expanded"
                raise YamlProblem(message, where)
            if depth[key] > limits.depth:
                message = (
                    f"refused: nested deeper than {limits.depth} levels once aliases are expanded"
                )
                raise YamlProblem(message, where)
            continue
        if key in size:
            continue
        started.add(key)
        todo.append((node, True))
        for kid in _children(node):
            if id(kid) in started:
                message = "refused: an alias inside the value it names (a loop)"
                raise YamlProblem(message, _position(kid.start_mark))
            if id(kid) not in size:
                todo.append((kid, False))


def compose(text: str, limits: YamlLimits = YAML_LIMITS) -> yaml.Node | None:
    """The node tree of a one-document YAML text. yaml.YAMLError for bad syntax (with its
    own mark), YamlProblem for a document over the limits."""
    loader = _Loader(text, limits)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if root is not None:
        _measure(root, limits)
    return root


def _unbuildable(root: yaml.Node) -> Position | None:
    """Where the first scalar is that parses but cannot be built (a date like 2026-02-30)."""
    builder = _Loader("", YAML_LIMITS)
    todo, seen = [root], set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                builder.construct_object(node)
            except ValueError:
                return _position(node.start_mark)
        todo += reversed(_children(node))
    return None


def construct(root: yaml.Node | None) -> Any:
    """The Python data of a measured tree; YamlProblem for a value YAML cannot build."""
    if root is None:
        return None
    try:
        return _Loader("", YAML_LIMITS).construct_document(root)
    except YamlProblem:
        raise
    except ValueError as exc:  # parsed, but not a value: the date 2026-02-30
        raise YamlProblem(f"not valid YAML: {exc}", _unbuildable(root)) from None

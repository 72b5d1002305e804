"""House style checks that need no Asterisk: small functions (the layers are checked by
import-linter in `make lint`)."""

import ast
from pathlib import Path

from ivr.config import PROJECT_ROOT

MAX_FUNCTION_LINES = 60


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Every function in the .py files under root longer than `limit` lines, from its `def`
    to its last line (alembic's generated migrations are not ours to split)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    where = path.relative_to(root.parent)
                    found.append(f"{where}:{node.lineno} {node.name} {lines}")
    return found


def test_no_function_in_the_engine_is_over_60_lines() -> None:
    assert long_functions(PROJECT_ROOT / "ivr") == []


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (package / "long.py").write_text(f"def long():\n{body}\n\ndef short():\n    pass\n")
    assert long_functions(package) == ["pkg/long.py:1 long 61"]

"""A seeded, deterministic fuzz corpus: the shipped flows/ and queues.yaml, mutated the way
an attacker (or a very tired supervisor) would.

Each case names one file and one mutation: a value swapped for another type, .inf, .nan,
a huge number or text, fullwidth digits, a lone surrogate; a key renamed or repeated;
the text truncated or salted with binary junk, deep nesting, an anchor bomb or an alias
loop; or the file replaced by a FIFO, a link out of the directory, a directory, a huge
file. The same seed always gives the same cases (`python -m tests.unit.flow.fuzz.generate
--list` prints them).
"""

import argparse
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.config import PROJECT_ROOT

SEED = 11
FLOW_FILES = sorted(p.name for p in (PROJECT_ROOT / "flows").iterdir())
VALUES: tuple[Any, ...] = (
    float("inf"),
    float("-inf"),
    float("nan"),
    1e308,
    -1,
    0,
    2**62,
    True,
    None,
    "",
    [],
    {},
    ["main"],
    {"k": "v"},
    "x" * 5000,
    "１２３",  # fullwidth digits
    "٣",  # an Arabic-Indic digit
    "Europe",
    "../../etc/passwd",
    "a\nb",
    "\x07",
    "\u202e",
    "2026-02-30",
)
TEXTS: tuple[str, ...] = (  # YAML spelled out: things safe_dump cannot write
    ".inf",
    ".nan",
    "-.inf",
    "0x" + "f" * 40,
    "9" * 5000,
    '"\\ud800"',
    '"\\udfff\\ud800"',
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!timestamp 2026-01-01",
    "2026-02-30",
    "*nowhere",
    "&a [*a]",
    "{? [a]: b}",
    "[" * 60 + "]" * 60,
    "[" * 5000,
    "{a: " * 3000,
    "１０",
)


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # a file in flows/, or queues.yaml
    kind: str  # text | fifo | link | dir | dangling | loop | missing
    content: bytes = b""

    @property
    def is_queues(self) -> bool:
        return self.target == "queues.yaml"


def bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" document: width**levels values from a few hundred bytes."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


def _replace(data: Any, path: tuple[Any, ...], new: Callable[[Any], Any]) -> Any:
    if not path:
        return new(data)
    head, *rest = path
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = _replace(data[head], tuple(rest), new)
    return copy


def _put(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    return _replace(data, path, lambda _: value)


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")


def _value_cases(rng: random.Random, name: str, text: str, count: int) -> Iterator[Case]:
    data = yaml.safe_load(text)
    paths = list(_paths(data))
    for i in range(count):
        path = rng.choice(paths)
        roll = rng.random()
        if roll < 0.45:
            value = rng.choice(VALUES)
            mutated, how = _put(data, path, value), f"value {value!r:.20}"
        elif roll < 0.6 and path and isinstance(path[-1], str):
            key = rng.choice(["typo", 1, "", "１", "\x07", None, True])
            parent = path[:-1]

            def rename(mapping: Any, old: str = path[-1], key: Any = key) -> Any:
                return {(key if k == old else k): v for k, v in mapping.items()}

            mutated, how = _replace(data, parent, rename), f"key {key!r}"
        elif roll < 0.75:
            mutated, how = (
                _replace(data, path, lambda v: [v] if rng.random() < 0.5 else {"x": v}),
                "wrap",
            )
        else:
            # YAML spelled out at that place: dump with a marker, then put the text in
            marker = f"MARK{i}"
            spelled = rng.choice(TEXTS)
            raw = _dump(_put(data, path, marker)).decode("utf-8")
            yield Case(
                f"{name}: text {spelled!r:.20} at {path!r:.40}",
                name,
                "text",
                raw.replace(marker, spelled, 1).encode("utf-8", "surrogatepass"),
            )
            continue
        yield Case(f"{name}: {how} at {path!r:.40}", name, "text", _dump(mutated))


def _text_cases(rng: random.Random, name: str, raw: bytes, count: int) -> Iterator[Case]:
    for _ in range(count):
        at = rng.randrange(len(raw) + 1)
        how = rng.choice(["truncate", "junk", "bomb", "deep", "fullwidth", "crlf", "bom", "nul"])
        if how == "truncate":
            content = raw[:at]
        elif how == "junk":
            content = raw[:at] + rng.randbytes(rng.randrange(1, 64)) + raw[at:]
        elif how == "bomb":
            content = bomb(rng.randrange(4, 10)).encode() + raw
        elif how == "deep":
            content = raw + b"deep: " + b"[" * rng.choice([60, 999, 20000]) + b"\n"
        elif how == "fullwidth":
            content = raw.decode().translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)}).encode()
        elif how == "crlf":
            content = raw.replace(b"\n", b"\r\n")
        elif how == "bom":
            content = b"\xef\xbb\xbf" + raw
        else:
            content = raw[:at] + b"\x00" + raw[at:]
        yield Case(f"{name}: {how} at {at}", name, "text", content)


def _file_cases(name: str) -> Iterator[Case]:
    for kind in ("fifo", "link", "dir", "dangling", "loop", "missing"):
        yield Case(f"{name}: {kind}", name, kind)
    yield Case(f"{name}: huge", name, "text", b"# " + b"x" * 300_000 + b"\n")
    yield Case(f"{name}: empty", name, "text", b"")
    yield Case(f"{name}: bomb alone", name, "text", bomb().encode())


def cases(seed: int = SEED, per_file: int = 12) -> list[Case]:
    """Every case, in a fixed order for a seed."""
    rng = random.Random(seed)
    found: list[Case] = []
    for name in [*FLOW_FILES, "queues.yaml"]:
        path = PROJECT_ROOT / ("queues.yaml" if name == "queues.yaml" else f"flows/{name}")
        raw = path.read_bytes()
        found += _file_cases(name)
        found += _text_cases(rng, name, raw, per_file // 2)
        if name.endswith(".yaml"):
            found += _value_cases(rng, name, raw.decode(), per_file)
    extra = ["fifo", "link", "dir"]
    found += [Case(f"new flow file: {kind}", f"zz_{kind}.yaml", kind) for kind in extra]
    found.append(Case("new flow file: bomb", "zz_bomb.yaml", "text", bomb().encode()))
    return found


def apply(case: Case, flows: Path, queues: Path) -> None:
    """Put the case in place in a copy of flows/ and of queues.yaml."""
    path = queues if case.is_queues else flows / case.target
    if path.exists() or path.is_symlink():
        path.unlink()
    if case.kind == "text":
        path.write_bytes(case.content)
    elif case.kind == "fifo":
        os.mkfifo(path)
    elif case.kind == "link":
        path.symlink_to("/dev/urandom")
    elif case.kind == "dir":
        path.mkdir()
    elif case.kind == "dangling":
        path.symlink_to(path.parent / "nowhere.yaml")
    elif case.kind == "loop":
        path.symlink_to(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--list", action="store_true", help="print the cases' names")
    args = parser.parse_args()
    for case in cases(args.seed):
        print(case.name.encode("unicode_escape").decode("ascii"))


if __name__ == "__main__":
    main()

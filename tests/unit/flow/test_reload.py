"""Hot reload: validated and rendered before it replaces the library, or rejected whole."""

import asyncio
import os
import shutil
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.flow.loader import FlowError, validate_library
from ivr.flow.reload import FlowReloader, speakable


def reloader(directory: Path, rendered: list[tuple[str, str]]) -> FlowReloader:
    def render(items: Iterable[tuple[str, str]]) -> int:
        new = [i for i in items if i not in rendered]
        rendered.extend(new)
        return len(new)

    return FlowReloader(directory, validate_library, render, 0.01)


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows"))


def test_speakable_holds_fixed_texts_in_every_language_but_not_templates() -> None:
    texts = speakable(validate_library(PROJECT_ROOT / "flows").library)  # type: ignore[arg-type]
    assert ("Вітаємо! Ви зателефонували до контакт-центру.", "uk") in texts
    assert ("Hello! You have reached the contact center.", "en") in texts
    assert not any("{" in text for text, _ in texts)  # filled per call, rendered then


async def test_a_valid_change_replaces_the_library_whole(flows: Path) -> None:
    rendered: list[tuple[str, str]] = []
    reload = reloader(flows, rendered)
    before = reload.library
    main = flows / "main.yaml"
    main.write_text(
        main.read_text(encoding="utf-8").replace(
            "welcome: {type: play, prompt: welcome, next: hours}",
            "welcome: {type: play, prompt: [welcome, {say: Нове привітання}], next: hours}",
        ),
        encoding="utf-8",
    )
    result = await reload.reload()

    assert result.ok and result.rendered == 1  # only the new text is spoken anew
    assert ("Нове привітання", "uk") in rendered
    assert reload.library is not before
    assert before.flows["main"].nodes["welcome"].spec["prompt"] == "welcome"  # untouched


async def test_an_invalid_change_is_rejected_and_the_old_library_kept(flows: Path) -> None:
    reload = reloader(flows, [])
    before = reload.library
    (flows / "support.yaml").write_text("name: support\nstart: nowhere\nnodes: {}\n")
    result = await reload.reload()

    assert not result.ok and reload.library is before
    assert any("support.yaml" in p and "nodes" in p for p in result.problems)


@pytest.mark.parametrize(
    ("flow", "exit_line"),
    [("main.yaml", "    on_timeout: support\n"), ("meter.yaml", "    on_fail: goodbye\n")],
)
async def test_a_change_that_removes_a_way_out_is_rejected(
    flows: Path, flow: str, exit_line: str
) -> None:
    """A menu without on_timeout (a collect without on_fail) would leave a silent caller
    at the fallback queue, priority 0: the change is refused, the old flow keeps serving."""
    reload = reloader(flows, [])
    before = reload.library
    path = flows / flow
    text = path.read_text(encoding="utf-8")
    assert exit_line in text
    path.write_text(text.replace(exit_line, "", 1), encoding="utf-8")
    result = await reload.reload()

    key = exit_line.strip().split(":")[0]
    assert not result.ok and reload.library is before
    assert any(f"{flow}:" in p and f".{key}: missing: add `{key}: " in p for p in result.problems)


async def test_a_prompt_that_cannot_be_spoken_rejects_the_change(flows: Path) -> None:
    def broken(items: Iterable[tuple[str, str]]) -> int:
        raise RuntimeError("espeak-ng not found")

    reload = FlowReloader(flows, validate_library, lambda items: 0)
    before = reload.library
    reload._render = broken
    result = await reload.reload()
    assert not result.ok and result.problems == [f"{flows}: spoken prompts: espeak-ng not found"]
    assert reload.library is before


def test_invalid_flows_stop_the_engine_from_starting(flows: Path) -> None:
    (flows / "main.yaml").write_text("name: main\nstart: x\nnodes: {x: {type: dance}}\n")
    with pytest.raises(FlowError, match=r"main\.yaml:3:19: nodes\.x\.type: .dance. is not one of"):
        reloader(flows, [])


def test_any_edit_changes_the_signature(flows: Path) -> None:
    reload = reloader(flows, [])
    before = reload.signature()
    (flows / "lines.csv").write_text(
        (flows / "lines.csv").read_text() + "5557000,service,Dnipro,site,main,\n"
    )
    assert reload.signature() != before


BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(
        ["", "a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e", "f"], strict=True
    )
)


def hostile(flows: Path, kind: str) -> Path:
    """A bad file in flows/ that once wedged or bloated the reloader."""
    path = flows / f"{kind}.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "bomb":
        path.write_text(BOMB, encoding="utf-8")
    elif kind == "huge":
        path.write_text("# " + "x" * 300_000 + "\n", encoding="utf-8")
    else:
        path.symlink_to("/dev/urandom")
    return path


EXPECTED = {
    "fifo": "fifo.yaml: refused: a named pipe (FIFO), not a regular file",
    "bomb": "bomb.yaml:5:4: refused: more than 10000 values once aliases are expanded",
    "huge": "huge.yaml: refused: 300003 bytes (at most 262144)",
    "random": "random.yaml: refused: a link to a file outside {flows}",
}


@pytest.mark.parametrize("kind", EXPECTED)
async def test_a_hostile_file_is_rejected_with_its_place_and_a_later_fix_applies(
    flows: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    reload = reloader(flows, [])
    before = reload.library
    bad = hostile(flows, kind)
    expected = f"{flows}/" + EXPECTED[kind].format(flows=flows)

    result = await asyncio.wait_for(reload.reload(), 5)
    assert not result.ok and result.problems == [expected]
    assert reload.library is before
    assert f"flows rejected: {expected}" in caplog.messages

    bad.unlink()
    (flows / "extra.yaml").write_text("name: extra\nstart: h\nnodes: {h: {type: hangup}}\n")
    result = await asyncio.wait_for(reload.reload(), 5)
    assert result.ok and "extra" in reload.library.flows


async def test_the_watcher_survives_a_fifo_and_applies_the_next_change(flows: Path) -> None:
    reload = reloader(flows, [])
    watch = asyncio.create_task(reload.watch())
    try:
        fifo = hostile(flows, "fifo")
        await asyncio.sleep(0.2)  # the watcher sees it, rejects it, and is not stuck
        assert "fifo" not in str(reload.library.flows)
        fifo.unlink()
        (flows / "extra.yaml").write_text("name: extra\nstart: h\nnodes: {h: {type: hangup}}\n")
        for _ in range(200):
            if "extra" in reload.library.flows:
                break
            await asyncio.sleep(0.02)
    finally:
        watch.cancel()
    assert "extra" in reload.library.flows


async def test_a_bomb_does_not_grow_the_engine(flows: Path) -> None:
    reload = reloader(flows, [])
    hostile(flows, "bomb")
    tracemalloc.start()
    try:
        result = await reload.reload()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert peak < 20_000_000  # bytes; expanded, the bomb was 100 MB and more


def test_a_swapped_link_or_a_new_pipe_changes_the_signature(flows: Path) -> None:
    reload = reloader(flows, [])
    before = reload.signature()
    os.mkfifo(flows / "new.yaml")
    with_pipe = reload.signature()
    assert with_pipe != before
    (flows / "new.yaml").unlink()
    (flows / "dangling.yaml").symlink_to(flows / "gone.yaml")  # stat() fails, lstat() not
    assert reload.signature() not in (before, with_pipe)

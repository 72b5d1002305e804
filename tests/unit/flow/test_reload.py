"""Hot reload: validated and rendered before it replaces the library, or rejected whole."""

import shutil
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

    return FlowReloader(directory, lambda: validate_library(directory), render, 0.01)


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


async def test_a_prompt_that_cannot_be_spoken_rejects_the_change(flows: Path) -> None:
    def broken(items: Iterable[tuple[str, str]]) -> int:
        raise RuntimeError("espeak-ng not found")

    reload = FlowReloader(flows, lambda: validate_library(flows), lambda items: 0)
    before = reload.library
    reload._render = broken
    result = await reload.reload()
    assert not result.ok and result.problems[-1] == "espeak-ng not found"
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

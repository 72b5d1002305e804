"""What the reloader tells the flow history: every accepted library with who asked, never a
rejected one; a rollback restores a version's files and reloads them."""

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.flow.loader import validate_library
from ivr.flow.reload import Accepted, FlowReloader
from ivr.flow.snapshot import read_snapshot


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows"))


def recording(flows: Path) -> tuple[FlowReloader, list[Accepted]]:
    told: list[Accepted] = []

    async def record(accepted: Accepted) -> None:
        told.append(accepted)

    reloader = FlowReloader(flows, validate_library, lambda items: 0, 0.01)
    reloader.recorders.append(record)
    return reloader, told


def edit(flows: Path, old: str, new: str) -> None:
    support = flows / "support.yaml"
    text = support.read_text(encoding="utf-8")
    assert old in text
    support.write_text(text.replace(old, new), encoding="utf-8")


async def test_startup_reload_and_file_change_are_told_with_who(flows: Path) -> None:
    reloader, told = recording(flows)
    await reloader.record_current()
    edit(flows, '"2": tv', '"2": extra')
    await reloader.reload("api admin sha256:12345678")
    assert [a.who for a in told] == ["startup", "api admin sha256:12345678"]
    assert told[0].files != told[1].files
    assert told[1].files == read_snapshot(flows)

    watch = asyncio.create_task(reloader.watch())
    try:
        edit(flows, '"2": extra', '"2": tv')
        for _ in range(250):
            if len(told) == 3:
                break
            await asyncio.sleep(0.02)
    finally:
        watch.cancel()
    assert told[2].who == "file change" and told[2].files == told[0].files


async def test_a_rejected_change_is_not_told(flows: Path) -> None:
    reloader, told = recording(flows)
    edit(flows, '"2": tv', '"2": nowhere')
    assert not (await reloader.reload()).ok
    assert told == []


async def test_restore_writes_the_files_back_reloads_and_tells(flows: Path) -> None:
    reloader, told = recording(flows)
    original = read_snapshot(flows)
    edit(flows, '"2": tv', '"2": extra')
    await reloader.reload()
    changed = reloader.library

    result = await reloader.restore(original, "rollback of 1 by admin")
    assert result.ok and reloader.library is not changed
    assert read_snapshot(flows) == original
    assert told[-1] == Accepted(original, "rollback of 1 by admin")
    tv = reloader.library.flows["support"].nodes["service_menu"].spec["options"]
    assert tv["2"] == "tv"


async def test_a_version_that_no_longer_loads_is_refused_and_nothing_changes(
    flows: Path,
) -> None:
    reloader, told = recording(flows)
    before, library = read_snapshot(flows), reloader.library
    broken = {**before, "support.yaml": before["support.yaml"].replace('"2": tv', '"2": gone')}
    result = await reloader.restore(broken, "rollback of 3 by admin")
    assert not result.ok
    assert any(p.startswith("support.yaml:") and "'gone'" in p for p in result.problems)
    assert read_snapshot(flows) == before and reloader.library is library and told == []


async def test_a_recorder_that_fails_leaves_the_new_flows_serving(
    flows: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reloader, _ = recording(flows)

    async def broken(accepted: Accepted) -> None:
        raise RuntimeError("database down")

    reloader.recorders.insert(0, broken)
    edit(flows, '"2": tv', '"2": extra')
    with caplog.at_level(logging.ERROR, logger="ivr.flow.reload"):
        result = await reloader.reload()
    assert result.ok
    assert reloader.library.flows["support"].nodes["service_menu"].spec["options"]["2"] == "extra"
    assert "the accepted version (file change) was not recorded" in caplog.text


async def test_a_read_only_flows_directory_refuses_the_rollback_clearly(
    flows: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloader, told = recording(flows)
    before, library = read_snapshot(flows), reloader.library

    def read_only(**kwargs: object) -> str:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("ivr.flow.snapshot.tempfile.mkdtemp", read_only)
    result = await reloader.restore(before, "rollback of 1 by admin")
    assert not result.ok
    assert result.problems == [f"{flows}: cannot write: Read-only file system"]
    assert reloader.library is library and told == []


async def test_a_rollback_whose_prompts_cannot_be_spoken_leaves_flows_as_it_serves(
    flows: Path,
) -> None:
    """Validated, swapped in, then the renderer fails: flows/ gets the serving files back,
    so a restart or the next edit does not put the refused version into service."""
    speaking = True

    def render(items: object) -> int:
        if not speaking:
            raise OSError("espeak-ng: no voice")
        return 0

    reloader = FlowReloader(flows, validate_library, render, 0.01)
    original = read_snapshot(flows)
    edit(flows, '"2": tv', '"2": extra')
    assert (await reloader.reload()).ok
    serving, library = read_snapshot(flows), reloader.library

    speaking = False
    result = await reloader.restore(original, "rollback of 1 by admin")
    assert not result.ok and "spoken prompts" in result.problems[0]
    assert read_snapshot(flows) == serving and reloader.library is library

"""End-to-end fixtures: the real Asterisk sandbox (provisioned once per run) and the engine."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.app import Engine
from ivr.calls.tester import tester_ami
from ivr.config import Settings, load_settings
from ivr.sandbox.chroot import Sandbox, SandboxError
from ivr.storage.repository import CallRecordView
from ivr.telephony.ami import AmiClient


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(env={})


@pytest.fixture(scope="session")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    box = Sandbox(settings.sandbox_dir, settings.queues_file)
    try:
        box.up()
    except (SandboxError, OSError) as exc:
        pytest.fail(f"the Asterisk sandbox is required and could not start: {exc}")
    yield box


@pytest.fixture
async def tester(sandbox: Sandbox, settings: Settings) -> AsyncIterator[AmiClient]:
    ami = tester_ami(settings)
    await ami.connect()
    yield ami
    await ami.close()


def engine_settings(settings: Settings, tmp_path: Path, **changes: object) -> Settings:
    return replace(settings, database_url=f"sqlite:///{tmp_path / 'ivr.db'}", **changes)  # type: ignore[arg-type]


@pytest.fixture
async def engine(sandbox: Sandbox, settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    running = Engine(engine_settings(settings, tmp_path))
    await running.start()
    assert running.ami is not None
    await running.ami.wait_connected(10)
    yield running
    await running.stop()


async def journal_row(engine: Engine, call_id: str, ended: bool = True) -> CallRecordView | None:
    """The call's journal row once written (and, with `ended`, once its Hangup arrived over
    AMI, which may come a moment after the test call returns)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        await engine.journal.flush()
        row = engine.repository.get(call_id)
        done = row is not None and (row.ended_at is not None or not ended)
        if done or asyncio.get_running_loop().time() > deadline:
            return row
        await asyncio.sleep(0.1)

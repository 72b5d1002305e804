"""End-to-end fixtures: the real Asterisk sandbox (provisioned once per run) and the engine."""

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ivr.app import Engine
from ivr.config import PROJECT_ROOT, Settings, load_settings
from ivr.sandbox.calls.tester import tester_ami
from ivr.sandbox.chroot import Sandbox, SandboxError
from ivr.sandbox.netns import PeerNetwork
from ivr.sandbox.peer import PeerEndpoints, PeerSandbox, peer_dir
from ivr.storage.db import make_engine, make_session_factory, migrate, open_store
from ivr.storage.repository import CallRecordView
from ivr.storage.seed import DEMO_STORE, load_seed_file, seed_store
from ivr.telephony.ami import AmiClient
from ivr.telephony.fallback_trace import FAMILY as FALLBACK_FAMILY
from tests.storage.conftest import PG_URL


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


@pytest.fixture(scope="session")
def second_asterisk_sandbox(sandbox: Sandbox, settings: Settings) -> Iterator[PeerSandbox]:
    """The second Asterisk (HA tests): a copy of the sandbox chroot (made once, reused) in
    network namespace ivr-ast2, up for the session, FastAGI to 10.87.0.1:<agi_port>."""
    peer = PeerSandbox(
        peer_dir(settings.sandbox_dir),
        sandbox,
        agi_target=f"{PeerNetwork().host_address}:{settings.agi_port}",
    )
    try:
        peer.up()
    except (SandboxError, OSError) as exc:
        pytest.fail(f"the second Asterisk (ivr sandbox up --peer) could not start: {exc}")
    yield peer
    peer.down()  # its chroot copy and namespace stay for the next run


@pytest.fixture(scope="session")
def second_asterisk(second_asterisk_sandbox: PeerSandbox) -> PeerEndpoints:
    """The second Asterisk's AMI (host, port, users and secrets) and SIP addresses."""
    return second_asterisk_sandbox.endpoints()


def peer_engine_settings(
    settings: Settings, peer: PeerEndpoints, tmp_path: Path, **changes: object
) -> Settings:
    """An engine for the second Asterisk: its AMI, FastAGI on the host side of the
    namespace's link, prompts into its chroot (engine_settings otherwise)."""
    agi_host, _, agi_port = peer.agi_target.rpartition(":")
    changes.setdefault("http_port", 18090)
    return engine_settings(
        settings, tmp_path, ami_host=peer.ami_host, ami_port=peer.ami_port,
        ami_user=peer.engine_user, ami_secret=peer.engine_secret,
        sandbox_dir=str(peer.sandbox_dir), agi_host=agi_host, agi_port=int(agi_port), **changes,
    )  # fmt: skip


def peer_tester(peer: PeerEndpoints) -> AmiClient:
    """The second Asterisk's test-call AMI user (reads AGI and dialplan events)."""
    return AmiClient(peer.ami_host, peer.ami_port, peer.tester_user, peer.tester_secret)


@pytest.fixture
async def second_tester(second_asterisk: PeerEndpoints) -> AsyncIterator[AmiClient]:
    """The second Asterisk's tester session, connected."""
    ami = peer_tester(second_asterisk)
    await ami.connect()
    yield ami
    await ami.close()


@pytest.fixture
async def tester(sandbox: Sandbox, settings: Settings) -> AsyncIterator[AmiClient]:
    ami = tester_ami(settings)
    await ami.connect()
    yield ami
    await ami.close()


ALWAYS_OPEN = '{daily: "00:00-24:00", holidays: open}'


def flows_copy(tmp_path: Path, operators: str = ALWAYS_OPEN) -> Path:
    """The shipped flows with the operators' hours replaced, so a test does not depend on
    the time it runs at."""
    flows = tmp_path / "flows"
    shutil.copytree(PROJECT_ROOT / "flows", flows, dirs_exist_ok=True)
    calendar = flows / "calendar.yaml"
    text = calendar.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  operators: .*$", f"  operators: {operators}", text)
    calendar.write_text(text, encoding="utf-8")
    return flows


def clear_fallback_trace(settings: Settings) -> None:
    Sandbox(settings.sandbox_dir, settings.queues_file).cli(f"database deltree {FALLBACK_FAMILY}")


def engine_settings(settings: Settings, tmp_path: Path, **changes: object) -> Settings:
    """The engine on its own database (seeded with the demo subscribers) and on a copy of
    the shipped flows where operators always work."""
    if "database_url" not in changes:  # given: PostgreSQL (pg_schema), seeded already
        changes["database_url"] = f"sqlite:///{tmp_path / 'ivr.db'}"
        with open_store(str(changes["database_url"])) as sessions:
            seed_store(sessions, load_seed_file(DEMO_STORE))
    if "flows_dir" not in changes:
        changes["flows_dir"] = str(flows_copy(tmp_path))
    changes.setdefault("var_dir", str(tmp_path / "var"))  # its own outbox
    return replace(settings, flows_poll_interval=0.2, **changes)  # type: ignore[arg-type]


async def started(settings: Settings) -> Engine:
    # the fallback's AstDB trace of earlier tests' calls is not this engine's to journal
    clear_fallback_trace(settings)
    engine = Engine(settings)
    await engine.start()
    assert engine.ami is not None
    await engine.ami.wait_connected(10)
    return engine


@pytest.fixture
async def engine(sandbox: Sandbox, settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    running = await started(engine_settings(settings, tmp_path))
    yield running
    await running.stop()


async def journal_row(engine: Engine, call_id: str, ended: bool = True) -> CallRecordView | None:
    """The call's journal row once written (and, with `ended`, once its Hangup arrived over
    AMI, which may come a moment after the test call returns, and, if it was answered, once
    its AgentComplete did: app_queue sends that one before or after the caller's Hangup)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        await engine.journal.flush()
        row = engine.repository.get(call_id)
        complete = row is not None and (row.answered_at is None or row.talk_seconds is not None)
        done = row is not None and (not ended or (row.ended_at is not None and complete))
        if done or asyncio.get_running_loop().time() > deadline:
            return row
        await asyncio.sleep(0.1)


async def eventually(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until `check()` is true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if check():
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"still not true after {timeout} s: {check}")
        await asyncio.sleep(0.05)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema with the demo subscribers, dropped afterwards (the
    database of tests/storage/conftest.py: it fails, never skips, when unreachable)."""
    with fresh_pg_schema("ivr_e2e", seed=True) as schema:
        yield schema


@contextmanager
def fresh_pg_schema(prefix: str, seed: bool) -> Iterator[str]:
    """A new migrated schema `<prefix>_<random>` on the test PostgreSQL (with the demo
    subscribers if `seed`), dropped afterwards."""
    admin = make_engine(PG_URL)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        migrate(PG_URL, schema)
        if seed:
            seeded = make_engine(PG_URL, schema)
            seed_store(make_session_factory(seeded), load_seed_file(DEMO_STORE))
            seeded.dispose()
        yield schema
    finally:
        drop_schema(admin, schema)
        admin.dispose()


def drop_schema(admin: SqlEngine, schema: str) -> None:
    """DROP SCHEMA, not held up for ever by a session a killed engine's host left behind
    (a lock held past lock_timeout: the database's other sessions are ended, then again)."""
    try:
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    except OperationalError:
        with admin.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def pg_url(schema: str, port: int | None = None) -> str:
    """The test PostgreSQL's URL on `schema` (through a proxy on `port`, if given)."""
    upstream = make_url(PG_URL)
    url = upstream.set(query={"options": f"-csearch_path={schema}"})
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)

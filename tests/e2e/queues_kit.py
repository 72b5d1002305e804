"""Queue tests on the real Asterisk: a scaled-down queues.yaml, Local-channel agents that
answer after a set delay and talk for a set time, and a log of what AMI reports."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.app import Engine
from ivr.config import Settings
from ivr.sandbox.chroot import Sandbox
from ivr.web.tokens import Principal, token_entry
from tests.e2e.conftest import engine_settings, started

QUEUE_FLOWS = Path(__file__).parent / "queue_flows"
AGENT_CONTEXT = "ivr-test-agent"
CALLEE_CONTEXT = "ivr-test-callee"
TOKEN = "supervisor-token-for-tests"
AGENT_TOKEN = "agent-2001-token-for-tests"  # agent 2001's own token
OTHER_AGENT_TOKEN = "agent-2002-token-for-tests"  # agent 2002's: not 2001's


def token_list(*tokens: tuple[Principal, str]) -> str:
    """The setting api_tokens as an admin writes it (hashes only)."""
    return ",".join(token_entry(who, token) for who, token in tokens)


SUPERVISOR_ONLY = token_list((Principal("supervisor"), TOKEN))
WITH_AGENTS = token_list(
    (Principal("supervisor"), TOKEN),
    (Principal("agent", "2001"), AGENT_TOKEN),
    (Principal("agent", "2002"), OTHER_AGENT_TOKEN),
)


def agent(agent_id: str, *queues: str) -> dict[str, Any]:
    return {
        "name": f"Agent {agent_id}",
        "interface": f"Local/{agent_id}@{AGENT_CONTEXT}",
        "skills": {queue: 0 for queue in queues},
    }


def fast_queues(
    directory: Path,
    *,
    agents: Mapping[str, dict[str, Any]],
    escalation: list[dict[str, Any]] | None = None,
    queues: Mapping[str, dict[str, Any]] | None = None,
    callbacks: Mapping[str, Any] | None = None,
    **defaults: Any,
) -> Path:
    """queues.yaml with the shipped queue names (plus `queues`) and every time scaled down
    to seconds; `callbacks` replaces callback settings (e.g. dial)."""
    settings: dict[str, Any] = {
        "answer_target": 2,
        "talk_warning": 0,
        "talk_guideline": 60,
        "hard_limit": 0,
        "ring_time": 2,
        "retry": 0,
        "wrapup": 0,
        "autopause": "all",
        "strategy": "linear",
        "escalation": escalation or [],
    }
    settings.update(defaults)
    data = {
        "caller_classes": {
            "new_connection": {"priority": 10},
            "existing_service": {"priority": 5},
            "non_target": {"priority": 1},
            "unknown": {"priority": 0},
        },
        "fallback_queue": "first_line",
        "defaults": settings,
        "callbacks": {
            "promise": 60,
            "max_rings": 2,
            "ring_seconds": 1,
            "attempts": 2,
            "retry_after": 1,
            "dial": f"Local/{{phone}}@{CALLEE_CONTEXT}/n",
            "caller_id": "5551000",
            "poll_interval": 0.2,
            **(callbacks or {}),
        },
        "agents": dict(agents),
        "queues": {
            **{name: {"title": name} for name in ("connections", "internet", "tv", "extra")},
            "senior": {"title": "senior", "escalation": []},  # the overflow target
            "first_line": {"title": "first_line"},
            **(queues or {}),
        },
    }
    path = directory / "queues.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class AmiLog:
    """Every event the tester sees, stamped with the loop's clock."""

    events: list[tuple[float, Mapping[str, Any]]] = field(default_factory=list)

    def __call__(self, event: Mapping[str, Any]) -> None:
        self.events.append((asyncio.get_running_loop().time(), dict(event)))

    def find(self, predicate: Callable[[Mapping[str, Any]], bool]) -> list[tuple[float, Any]]:
        return [(t, e) for t, e in self.events if predicate(e)]

    async def wait_for(
        self, predicate: Callable[[Mapping[str, Any]], bool], timeout: float = 10.0
    ) -> tuple[float, Mapping[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.find(predicate)
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"no such AMI event within {timeout} s")
            await asyncio.sleep(0.02)


def callback_offer_queues(directory: Path) -> Path:
    """One agent (2001, first_line); a waiting caller is offered a callback after 1 s, and
    misses the answer target then."""
    return fast_queues(
        directory,
        agents={"2001": agent("2001", "first_line")},
        escalation=[{"after": 1.0, "offer_callback": True}],
        answer_target=1.0,
    )


def event(name: str, **fields: str) -> Callable[[Mapping[str, Any]], bool]:
    def matches(e: Mapping[str, Any]) -> bool:
        if e.get("Event") != name and e.get("UserEvent") != name:
            return False
        return all(str(e.get(k, "")) == v for k, v in fields.items())

    return matches


async def hang_up_everything(sandbox: Sandbox) -> None:
    """No caller, agent or callee leg of an earlier test may still be in the sandbox."""
    await asyncio.to_thread(sandbox.cli, "channel request hangup all")
    for _ in range(50):
        if "0 active channels" in await asyncio.to_thread(sandbox.cli, "core show channels count"):
            return
        await asyncio.sleep(0.1)


def queue_flows(tmp_path: Path) -> Path:
    """A copy of the queue-test flows in tmp_path/flows."""
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    for source in QUEUE_FLOWS.iterdir():
        (flows / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return flows


@contextlib.asynccontextmanager
async def queue_engine(
    sandbox: Sandbox,
    settings: Settings,
    tmp_path: Path,
    queues: Path,
    *,
    api_tokens: str = SUPERVISOR_ONLY,
    hang_up: bool = True,
    flows: Path | None = None,
    **changes: object,
) -> AsyncIterator[Engine]:
    """The engine on the queue-test flows and `queues`, its queues.conf applied to the
    sandbox, in a sandbox without calls (unless not `hang_up`); every agent it knows is
    logged out afterwards. `api_tokens` as in the settings (hashed entries: token_list; the
    supervisor TOKEN by default); `flows`: another flows directory; `changes`: other
    settings (ami_port: a fault proxy)."""
    if hang_up:
        await hang_up_everything(sandbox)
    flows = flows or queue_flows(tmp_path)
    custom = engine_settings(
        settings,
        tmp_path,
        flows_dir=str(flows),
        queues_file=str(queues),
        asterisk_config_dir=str(sandbox.root / "etc" / "asterisk"),
        api_tokens=api_tokens,
        http_port=18080,
        **changes,
    )
    engine = await started(custom)
    try:
        await engine.queue_actions.reload()  # the scaled queues.conf, before the first call
        await engine.agents.sync()
        for spec in engine.queues.agents.values():  # a previous test's members
            await engine.agents.logout(spec.id)
        yield engine
    finally:
        with contextlib.suppress(Exception):
            for spec in engine.queues.agents.values():
                await engine.agents.logout(spec.id)
        await engine.stop()

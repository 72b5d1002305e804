"""`ivr flow simulate` and a simulated run of every branch of every shipped flow, against
a real store seeded with the demo subscribers (no Asterisk)."""

import itertools
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.calls.simulate import Simulation, simulate
from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.flow.context import StepContext
from ivr.flow.loader import load_library
from ivr.flow.model import FlowLibrary
from ivr.flow.steps.base import StepResult, StepType
from ivr.flow.steps.registry import STEP_TYPES
from ivr.queues.model import load_queues
from ivr.storage.db import open_store
from ivr.storage.directory import StoreDirectory
from ivr.storage.seed import DEMO_STORE, load_seed_file, seed_store
from ivr.subscribers import Outage, Subscriber

QUEUES = load_queues(PROJECT_ROOT / "queues.yaml")
LIBRARY = load_library(PROJECT_ROOT / "flows", queues=QUEUES.queues, classes=QUEUES.caller_classes)

OPEN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday 12:00 in Kyiv
CLOSED = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # Tuesday 23:00 in Kyiv
HOLIDAY = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)  # Christmas, 12:00 in Kyiv
KYIV_SUBSCRIBER, LVIV_SUBSCRIBER, STRANGER = "380441234567", "380322000111", "0991112233"
SHARED_PHONE = "380440000000"  # two accounts: not identified by number
# What the explorer answers at each prompt: keys, silence, a wrong key, entries of several
# digits (a known and an unknown contract, a line number, a reading, a too short entry).
MAX_KEYS = 10  # longer key sequences only repeat menus (a caller toggling the language)
ANSWERS = [*"012345*", "9", "-", "10000001", "99999999", "5551000", "12"]


class RememberingDirectory(StoreDirectory):
    """The seeded store, asked once per question: the branch explorer asks the same few
    questions tens of thousands of times, and each store read is a trip to a worker thread."""

    def __init__(self, sessions: Any) -> None:
        super().__init__(sessions)
        self._answers: dict[tuple[object, ...], Any] = {}

    async def _remember(self, ask: Callable[..., Awaitable[Any]], *question: Any) -> Any:
        key = (ask.__name__, *question)
        if key not in self._answers:
            self._answers[key] = await ask(*question)
        return self._answers[key]

    async def subscriber_by_phone(self, phone: str) -> Subscriber | None:
        return await self._remember(super().subscriber_by_phone, phone)  # type: ignore[no-any-return]

    async def subscriber_by_contract(self, contract: str) -> Subscriber | None:
        return await self._remember(super().subscriber_by_contract, contract)  # type: ignore[no-any-return]

    async def active_outage(self, area: str, service: str, at: datetime) -> Outage | None:
        return await self._remember(super().active_outage, area, service, at)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreDirectory]:
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'ivr.db'}") as sessions:
        seed_store(sessions, load_seed_file(DEMO_STORE))
        yield RememberingDirectory(sessions)


class Tracing:
    """A step type that records which node ran after which (edges taken)."""

    def __init__(self, inner: StepType[Any], trail: list[tuple[str, str]]) -> None:
        self.inner, self.trail, self.keys = inner, trail, inner.keys

    def check(self, spec: Mapping[str, Any]) -> Any:
        return self.inner.check(spec)

    async def run(self, node_id: str, config: Any, ctx: StepContext) -> StepResult:
        self.trail.append((ctx.flow, node_id))
        return await self.inner.run(node_id, config, ctx)


async def run_keys(
    library: FlowLibrary,
    directory: StoreDirectory,
    line: str,
    caller: str,
    at: datetime,
    keys: tuple[str, ...],
) -> Simulation:
    return await simulate(library, QUEUES, line, caller, list(keys), directory, lambda: at)


def all_edges(library: FlowLibrary) -> set[tuple[str, str, str]]:
    edges = set()
    for flow in library.flows.values():
        for node in flow.nodes.values():
            for target in node.checked.targets.values():
                edges.add((flow.name, node.id, target))
    return edges


async def test_every_branch_of_every_shipped_flow_ends_in_a_queue_or_self_service(
    directory: StoreDirectory,
) -> None:
    trail: list[tuple[str, str]] = []
    traced = load_library(
        PROJECT_ROOT / "flows",
        queues=QUEUES.queues,
        classes=QUEUES.caller_classes,
        steps={name: Tracing(step, trail) for name, step in STEP_TYPES.items()},
    )
    taken: set[tuple[str, str, str]] = set()
    seen: set[tuple[str, str, str]] = set()
    lines = ["5551000", "5553000", "5552000"]
    callers = [KYIV_SUBSCRIBER, LVIV_SUBSCRIBER, STRANGER, ""]
    runs = 0
    for at in (OPEN, CLOSED):
        for line in lines:
            for caller in callers:
                todo: list[tuple[str, ...]] = [()]
                while todo:
                    keys = todo.pop()
                    trail.clear()
                    result = await run_keys(traced, directory, line, caller, at, keys)
                    runs += 1
                    assert result.outcome in ("queue", "self_service"), (keys, result.reason)
                    if result.outcome == "queue":
                        assert result.reason == "as configured"
                    edges = {(a[0], a[1], b[1]) for a, b in itertools.pairwise(trail)}
                    new = (edges | {(line, caller, step) for step in result.path}) - seen
                    seen |= new
                    taken |= edges
                    # Go deeper where this run found something new, and always along
                    # silence (which only moves the frontier to the next prompt).
                    deeper = new or not keys or keys[-1] == "-"
                    if deeper and not result.unused_keys and len(keys) < MAX_KEYS:
                        todo += [(*keys, k) for k in ANSWERS]
    missing = all_edges(LIBRARY) - taken
    assert not missing, f"branches no simulated call took ({runs} runs): {sorted(missing)}"


async def test_new_connection_outranks_support(directory: StoreDirectory) -> None:
    new = await run_keys(LIBRARY, directory, "5552000", STRANGER, OPEN, ("1",))
    old = await run_keys(LIBRARY, directory, "5551000", KYIV_SUBSCRIBER, OPEN, ("2", "1"))
    assert (new.queue, new.caller_class) == ("connections", "new_connection")
    assert (old.queue, old.caller_class) == ("internet", "existing_service")
    assert new.priority > old.priority


async def test_a_recognised_caller_is_never_asked_for_his_contract(
    directory: StoreDirectory,
) -> None:
    known = await run_keys(LIBRARY, directory, "5551000", KYIV_SUBSCRIBER, OPEN, ("2", "1"))
    assert known.subscriber == "10000001"
    assert not any("договору" in h for h in known.heard)
    stranger = await run_keys(LIBRARY, directory, "5551000", STRANGER, OPEN, ("2", "10000001", "1"))
    assert any("договору" in h for h in stranger.heard)
    assert stranger.subscriber == "10000001"
    assert stranger.path[:4] == ("hours:1", "menu:2", "support:support", "identify:not_found")


async def test_outside_hours_and_on_holidays_callers_get_self_service(
    directory: StoreDirectory,
) -> None:
    for at in (CLOSED, HOLIDAY):
        result = await run_keys(LIBRARY, directory, "5551000", STRANGER, at, ("-", "-"))
        assert result.path[:2] == ("hours:else", "after_hours:closed")
        assert result.outcome == "self_service"
        assert any("з понеділка по суботу" in h for h in result.heard)


async def test_meter_readings_are_taken_at_night(directory: StoreDirectory) -> None:
    result = await run_keys(LIBRARY, directory, "5551000", KYIV_SUBSCRIBER, CLOSED, ("1", "4321"))
    assert result.outcome == "self_service"
    [record] = result.records
    assert (record["event"], record["contract"], record["reading"]) == (
        "MeterReadingSubmitted",
        "10000001",
        "4321",
    )
    assert any("4321" in h for h in result.heard)  # read back


async def test_outage_is_announced_before_queueing_and_the_caller_may_leave(
    directory: StoreDirectory,
) -> None:
    stays = await run_keys(LIBRARY, directory, "5553000", LVIV_SUBSCRIBER, OPEN, ("2", "1", "2"))
    assert "outage:active" in stays.path and stays.queue == "tv"
    assert any("Городоцькій" in h and "18:00" in h for h in stays.heard)
    leaves = await run_keys(LIBRARY, directory, "5553000", LVIV_SUBSCRIBER, OPEN, ("2", "2"))
    assert leaves.outcome == "self_service" and leaves.path[-1] == "goodbye:hangup"
    kyiv = await run_keys(LIBRARY, directory, "5551000", KYIV_SUBSCRIBER, OPEN, ("2", "1"))
    assert "outage:none" in kyiv.path


async def test_unreachable_report_is_logged_against_the_reported_number(
    directory: StoreDirectory,
) -> None:
    result = await run_keys(
        LIBRARY,
        directory,
        "5551002",
        KYIV_SUBSCRIBER,
        OPEN,
        ("4", "5553000", "3", "2", "0501234567", "2"),
    )
    [record] = result.records
    assert record["event"] == "UnreachableReported"
    assert (record["reported_line"], record["via_line"]) == ("5553000", "5551002")
    assert (record["published"], record["dialled_from"], record["problem"]) == (
        "advert",
        "0501234567",
        "no_operator",
    )
    assert (record["contract"], record["caller"]) == ("10000001", KYIV_SUBSCRIBER)
    assert result.language == "ru" and any("старшему оператору" in h for h in result.heard)


async def test_callback_request_promises_an_interval(directory: StoreDirectory) -> None:
    result = await run_keys(LIBRARY, directory, "5551000", KYIV_SUBSCRIBER, OPEN, ("2", "0"))
    [record] = result.records
    assert record["event"] == "CallbackRequested"
    assert record["promised_by"] == "2026-11-24T10:30:00+00:00"
    assert any("12:30" in h for h in result.heard)  # Kyiv time


def test_cli_simulate_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{tmp_path / 'ivr.db'}")
    code = main(
        [
            "flow",
            "simulate",
            "--line",
            "5553000",
            "--caller",
            "0322",
            "--dtmf",
            "2 - - 2 7",
            "--at",
            "2026-11-24T12:00",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)

    assert code == 0
    assert out["path"] == [
        "hours:1",
        "menu:2",
        "support:support",
        "identify:not_found",
        "ask_contract:timeout",
        "outage:none",
        "service_menu:2",
    ]
    assert (out["queue"], out["priority"], out["unused_keys"]) == ("tv", 5, ["7"])
    assert out["at"] == "2026-11-24T12:00+02:00"

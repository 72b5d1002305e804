"""Two Asterisk servers (the second in its own network namespace, on its own copy of the
chroot) and three engines on one PostgreSQL, every engine configured with both
(IVR_ASTERISKS). The first engine up owns both Asterisks' live actions; killed (kill -9),
the others take each Asterisk over, and the ladders of SIP callers waiting on the second
Asterisk go on, each step once. Figures are printed (pytest -s)."""

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ivr.config import Settings
from ivr.sandbox.chroot import Sandbox
from ivr.sandbox.peer import PeerEndpoints, PeerSandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import engine_settings, eventually, pg_url
from tests.e2e.engine_subprocess import start_engine
from tests.e2e.queues_kit import AmiLog, queue_engine, queue_flows
from tests.e2e.sip_menu import sip_callers_in_queue
from tests.e2e.test_ha import (
    STEPS,
    TAKEOVER,
    check_ladders,
    ladder_queues,
    priorities,
    steps_announced,
)
from tests.unit.engine_process import free_port

pytestmark = pytest.mark.postgres

CALLERS = 5  # waiting on the second Asterisk


def owners(health: Mapping[str, Any]) -> dict[str, bool]:
    """Which Asterisks an engine owns, from its /health (connected ones only)."""
    return {
        name: bool(site["owner"])
        for name, site in health["asterisks"].items()
        if site["ami_connected"]
    }


def both_asterisks(
    settings: Settings, peer: PeerEndpoints, tmp_path: Path, **changes: object
) -> dict[str, object]:
    """The settings that make an engine work with both Asterisks: the list, and a secret
    file per Asterisk for the same AMI user."""
    assert peer.engine_user == settings.ami_user
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "ast1.secret").write_text(settings.resolved_ami_secret(), encoding="utf-8")
    (secrets / "ast2.secret").write_text(peer.engine_secret, encoding="utf-8")
    return {
        "asterisks": f"ast1={settings.ami_host}:{settings.ami_port} "
        f"ast2={peer.ami_host}:{peer.ami_port}",
        "ami_secret": "",
        "ami_secret_file": str(secrets / "{asterisk}.secret"),
        **changes,
    }


async def test_two_asterisks_three_engines_the_owner_killed_ladders_go_on(
    sandbox: Sandbox,
    settings: Settings,
    second_asterisk_sandbox: PeerSandbox,
    second_asterisk: PeerEndpoints,
    second_tester: AmiClient,
    tmp_path: Path,
    pg_schema: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queues = ladder_queues(tmp_path)
    database = pg_url(pg_schema)
    common = both_asterisks(settings, second_asterisk, tmp_path)
    agi_host, _, agi_port = second_asterisk.agi_target.rpartition(":")
    engines = []
    for name, agi in (("e1", (settings.agi_host, free_port())), ("e2", (agi_host, int(agi_port)))):
        work = tmp_path / name
        work.mkdir()
        config = engine_settings(
            settings, work, database_url=database, flows_dir=str(queue_flows(work)),
            queues_file=str(queues), engine_id=name, agi_host=agi[0], agi_port=agi[1],
            **common,
        )  # fmt: skip
        engines.append(await asyncio.to_thread(start_engine, config, work / "engine.log"))
    owner, menus = engines  # e1 came first: it owns both; e2 serves the second's menus
    lines: list[str] = []
    try:
        await eventually(lambda: owners(owner.health()) == {"ast1": True, "ast2": True}, 10)
        async with queue_engine(
            sandbox, settings, tmp_path, queues, database_url=database, engine_id="e3",
            **common,
        ) as third:  # fmt: skip
            await eventually(lambda: all(s.ami.connected for s in third.sites), timeout=10)
            assert not any(site.acting() for site in third.sites)
            log = AmiLog()
            second_tester.on_event("*", log)
            async with sip_callers_in_queue(
                second_asterisk_sandbox, second_tester, tmp_path / "sipp", CALLERS, ["2"],
                hold=60.0, target=second_asterisk.sip_address,
                carrier_ip=second_asterisk.carrier_address,
            ) as calls:  # fmt: skip
                routes = {
                    str(r["Uniqueid"]): int(r["QueuePriority"]) for r in calls.routes.values()
                }

                # e3 owns neither Asterisk: its board shows the second's callers from e1's row
                def on_e3_board() -> bool:
                    return set(routes) <= {c.call_id for c in third.live_sources.waiting()}

                await eventually(on_e3_board, timeout=3)
                shown = {s["asterisk"]: s for s in third.live_sources.status()}
                assert shown["ast2"]["source"] == "shared" and shown["ast2"]["owner"] == "e1"
                lines.append(f"e3's board: {len(routes)} callers waiting on ast2, {shown['ast2']}")
                await asyncio.sleep(1.0)
                killed = time.monotonic()
                owner.kill()

                def taken_over() -> bool:  # each Asterisk by exactly one of e2, e3
                    e2, e3 = owners(menus.health()), owners(third.health())
                    return all(e2[name] != e3[name] for name in ("ast1", "ast2"))

                await eventually(taken_over, timeout=15)
                took = time.monotonic() - killed
                lines.append(
                    f"2 Asterisk, 3 engines: both taken over {took:.2f} s after kill -9; "
                    f"e2 {menus.health()['asterisks']}, e3 {third.health()['asterisks']}"
                )
                assert took < TAKEOVER
                last_join = max(calls.joined.values())
                await asyncio.sleep(max(0.0, last_join + STEPS[-1] + TAKEOVER - time.time()))
                final = await priorities(second_tester, "first_line")
            second_tester.off_event("*", log)
            check_ladders(routes, steps_announced(log), final, lines)
    finally:
        for engine in engines:
            engine.stop()
        with capsys.disabled():
            print("\n" + "\n".join(lines))

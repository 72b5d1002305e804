"""The queues part of `make demo`: sandbox agents answer, ring out, talk too long; a caller
waits past the answer target and is escalated; then the journal and the service level.
Agent 1001 is on a real SIP phone (baresip, PJSIP/1001) and the first caller calls over the
SIP trunk (SIPp); the other agents are the sandbox's Local test agents."""

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ivr.app import Engine
from ivr.sandbox.calls.place import CallReport, place_call
from ivr.sandbox.calls.sip_call import place_sip_call
from ivr.sandbox.calls.tester import agent_behaves, callee_behaves
from ivr.telephony.ami import AmiClient

# Shipped times scaled down so the demo takes seconds: target 3 s, guideline 4 s.
SCALED = {
    "answer_target": 3,
    "talk_warning": 2,
    "talk_guideline": 4,
    "ring_time": 2,
    "retry": 0,
    "wrapup": 0,
    "escalation": [{"after": 3, "raise_priority": 3}, {"after": 5, "overflow": "senior"}],
}
# agent id: (answers after, talks for) in seconds; "never" rings out and is paused
AGENTS = {"1001": ("1.0", "6"), "1002": ("never", "1"), "1004": ("0.3", "1"), "1006": ("0.3", "1")}
SIP_AGENT = "1001"  # on a baresip phone: the shipped interface PJSIP/1001
KYIV, STRANGER = "+380441234567", "+380501112233"
CALLS = (
    # (description, line, caller, keys, start after s, over the SIP trunk)
    ("internet caller over SIP (1002 rings out)", "5551000", KYIV, ["2", "1"], 0.0, True),
    ("internet caller 1.5 s later", "5551000", KYIV, ["2", "1"], 1.5, False),
    ("appeal: first line answers at once", "5554000", STRANGER, ["5"], 0.5, False),
)


def demo_queues(shipped: Path, target: Path) -> Path:
    """queues.yaml with sandbox agents (Local/<id>@ivr-test-agent; the SIP agent keeps his
    phone, PJSIP/<id>) and scaled times."""
    data: dict[str, Any] = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    data["defaults"].update(SCALED)
    data["queues"]["senior"]["escalation"] = [{"after": 3, "raise_priority": 3}]
    for agent_id, agent in data["agents"].items():
        if agent_id != SIP_AGENT:
            agent["interface"] = f"Local/{agent_id}@ivr-test-agent"
    data["callbacks"]["dial"] = "Local/{phone}@ivr-test-callee/n"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


async def run_queue_calls(
    engine: Engine, ami: AmiClient, sip_logs: Path
) -> list[tuple[str, CallReport]]:
    """The queued calls; the SIP agent's phone must be registered already."""
    await callee_behaves(ami, KYIV, talk="3")  # the after-hours caller, called back
    for agent_id, (answer, talk) in AGENTS.items():
        if agent_id != SIP_AGENT:
            await agent_behaves(ami, agent_id, answer, talk)
        await engine.agents.login(agent_id)
        phone = " (SIP phone)" if agent_id == SIP_AGENT else ""
        skills = ", ".join(engine.queues.agents[agent_id].skills)
        print(f"agent {agent_id}{phone} logged in: {skills}")

    async def one(
        title: str, line: str, caller: str, keys: list[str], after: float, sip: bool
    ) -> CallReport:
        await asyncio.sleep(after)
        over = " over SIP" if sip else ""
        print(f"calling {line} from {caller}{over}, keys {' '.join(keys)}: {title}")
        if sip:
            return await place_sip_call(
                ami, line, caller, keys, sip_logs / "queue-call", talk=20, timeout=60,
                port=5064, media_port=16040,
            )  # fmt: skip
        return await place_call(ami, line, caller, keys, talk=20, timeout=60)

    reports = await asyncio.gather(*(one(*call) for call in CALLS))
    await asyncio.sleep(0.5)
    return [(call[0], report) for call, report in zip(CALLS, reports, strict=True)]


def _seconds(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else "-"


def print_queue_summary(
    engine: Engine, calls: list[Mapping[str, Any]], reports: list[tuple[str, CallReport]]
) -> None:
    print("\nagents:")
    for agent in engine.agents.agents():
        reason = f" ({agent.reason})" if agent.reason else ""
        print(f"  {agent.id} {agent.name:<20} {agent.state}{reason}")
    print("\nqueued calls (wait, answered by, talk, 20 s target scaled to 3 s, escalations):")
    ids = {r.call_id for _, r in reports}
    for row in calls:
        if row["call_id"] in ids:
            target = "met" if row["target_met"] else "MISSED"
            over = "yes" if row["over_guideline"] else "no"
            print(
                f"  {row['call_id']:<24} {row['queue'] or '-':<11} "
                f"wait {_seconds(row['wait_seconds'])} s  agent {row['agent'] or '-':<5} "
                f"talk {_seconds(row['talk_seconds'])} s  target {target}  "
                f"over guideline {over}  escalations {row['escalations'] or '-'}"
            )
    print("\nservice level (answered within target / answered + abandoned after it):")
    for level in [*engine.service_level.by_queue(), *engine.service_level.by_line()]:
        share = f"{level.share:.0%}" if level.share is not None else "-"
        print(
            f"  {level.key:<12} answered {level.answered}  within target {level.within_target}  "
            f"SL {share}"
        )

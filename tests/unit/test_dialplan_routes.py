"""Every agi://host/<name> and ${IVR_AGI}/<name> in dialplans/ has a route in the engine."""

import re
from dataclasses import replace
from pathlib import Path

from ivr.app import Engine
from ivr.config import PROJECT_ROOT, load_settings

AGI_URL = re.compile(r"(?:h?agi://[^/,)]+|\$\{IVR_AGI\})/([A-Za-z0-9_-]+)")


def dialplan_route_names() -> set[str]:
    found = set()
    for path in (PROJECT_ROOT / "dialplans").rglob("*.conf"):
        found |= set(AGI_URL.findall(path.read_text(encoding="utf-8")))
    return found


def test_dialplans_name_routes() -> None:
    assert {"inbound", "fallback-sweep"} <= dialplan_route_names()


def test_every_dialplan_agi_name_has_a_route(tmp_path: Path) -> None:
    settings = replace(load_settings(env={}), database_url=f"sqlite:///{tmp_path / 'x.db'}")
    routes = set(Engine(settings).routes())

    assert dialplan_route_names() <= routes, dialplan_route_names() - routes

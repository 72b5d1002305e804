"""`ivr flow history | show | rollback | replay`: the accepted flows/ versions, one's diff,
putting one back into service (through the running engine's API), and replaying journalled
calls against edited flows before they go live."""

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.config import Settings
from ivr.reports.cli import SubParsers, calendar_zone
from ivr.reports.window import DATE_FORMS, ReportError, parse_moment

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from ivr.flow.model import FlowLibrary
    from ivr.queues.model import QueuesConfig

AGO = re.compile(r"(\d+)\s*([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
COMMANDS = ("history", "show", "rollback", "replay")


def add_flow_history_parsers(flow_sub: "SubParsers[argparse.ArgumentParser]") -> None:
    history = flow_sub.add_parser("history", help="the accepted flows/ versions, newest first")
    history.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    show = flow_sub.add_parser("show", help="one flows/ version: who, when, its diff")
    show.add_argument("version", type=int)
    rollback = flow_sub.add_parser(
        "rollback", help="put an old flows/ version back into service (the engine's API)"
    )
    rollback.add_argument("version", type=int)
    rollback.add_argument("--token", help="a supervisor's or admin's API token (IVR_API_TOKEN)")
    replay = flow_sub.add_parser(
        "replay", help="re-run journalled calls against edited flows: who would route differently"
    )
    replay.add_argument(
        "directory", nargs="?", help="the edited flows directory (default: IVR_FLOWS_DIR)"
    )
    when = f"2h, 30m, 1d ago, or {DATE_FORMS} (local to calendar.yaml unless it has an offset)"
    replay.add_argument("--since", default="2h", help=f"from: {when}; default 2h")
    replay.add_argument("--until", help=f"until: {when}; default now")
    replay.add_argument(
        "--baseline",
        type=int,
        help="compare with this flow version (default: the newest, what the engine serves)",
    )
    replay.add_argument("--json", action="store_true", help="print JSON")


def run_flow_history(settings: Settings, args: argparse.Namespace) -> int:
    if args.flow_command == "rollback":
        return _rollback(settings, args.version, args.token or os.environ.get("IVR_API_TOKEN", ""))
    from ivr.storage.db import open_store
    from ivr.storage.flow_history import FlowHistory, UnknownVersion

    try:
        with open_store(settings.database_url) as sessions:
            if args.flow_command == "replay":
                return _replay(settings, args, sessions)
            history = FlowHistory(sessions)
            if args.flow_command == "show":
                version = history.get(args.version)
                print(f"version {version.id}  {version.at:%Y-%m-%d %H:%M:%S}Z  {version.who}")
                print(version.diff or "(the first version: nothing before it to compare)")
                return 0
            versions = history.recent(args.limit)
            if not versions:
                print("no flow versions recorded yet (the engine records one when it starts)")
            for version in versions:
                changed = ", ".join(version.changed) or "-"
                print(f"{version.id:>5}  {version.at:%Y-%m-%d %H:%M:%S}Z  {version.who}: {changed}")
    except (UnknownVersion, ValueError, ReportError) as exc:
        print(f"ivr flow {args.flow_command}: {exc}", file=sys.stderr)
        return 2
    return 0


def moment(text: str, option: str, tz: tzinfo, now: datetime) -> datetime:
    """`2h` (that long before now) or a date/time as `ivr report` reads it."""
    ago = AGO.fullmatch(text.strip())
    if ago:
        return now - timedelta(**{UNITS[ago.group(2)]: int(ago.group(1))})
    return parse_moment(text, option, tz)


def _replay(settings: Settings, args: argparse.Namespace, sessions: "sessionmaker[Session]") -> int:
    import asyncio

    from ivr.calls.replay import replay
    from ivr.queues.model import load_queues
    from ivr.storage.directory import StoreDirectory
    from ivr.storage.repository import JournalRepository

    tz, now = calendar_zone(settings.flows_dir), datetime.now(UTC)
    since = moment(args.since, "--since", tz, now)
    until = moment(args.until, "--until", tz, now) if args.until else now
    if until <= since:
        raise ReportError(f"--until ({until:%Y-%m-%d %H:%M}Z) is not after --since")
    queues = load_queues(settings.queues_file)
    edited = _library(Path(args.directory or settings.flows_dir), queues)
    live, baseline = _baseline(settings, sessions, args.baseline, queues)
    found = JournalRepository(sessions).menu_calls(since, until)
    directory = StoreDirectory(sessions, settings.phone_country_code)
    report = asyncio.run(replay(found.calls, live, edited, queues, directory, found.without_keys))
    if args.json:
        print(json.dumps({"baseline": baseline, **report.as_dict()}, ensure_ascii=False))
        return 0
    print(
        f"replayed calls from {since.astimezone(tz):%Y-%m-%d %H:%M} to "
        f"{until.astimezone(tz):%Y-%m-%d %H:%M} ({tz}): {baseline} -> "
        f"{args.directory or settings.flows_dir}"
    )
    print(report.text())
    return 0


def _library(directory: Path, queues: "QueuesConfig") -> "FlowLibrary":
    from ivr.flow.loader import load_library

    return load_library(directory, queues=queues.queues, classes=queues.caller_classes)


def _baseline(
    settings: Settings,
    sessions: "sessionmaker[Session]",
    version: int | None,
    queues: "QueuesConfig",
) -> tuple["FlowLibrary", str]:
    """The flows to compare with: a version of the history (the newest by default: what
    the engine serves), else flows/ as it is when the history is empty."""
    from ivr.storage.flow_history import FlowHistory

    history = FlowHistory(sessions)
    if version is None:
        newest = history.recent(1)
        if not newest:
            return _library(Path(settings.flows_dir), queues), f"{settings.flows_dir} (no history)"
        version = newest[0].id
    with tempfile.TemporaryDirectory(prefix="ivr-replay-") as staged:
        for name, text in history.files(version).items():
            (Path(staged) / name).write_text(text, encoding="utf-8")
        return _library(Path(staged), queues), f"flow version {version}"


def _rollback(settings: Settings, version: int, token: str) -> int:
    """Through the running engine: it swaps the files in under its reload lock, serves them
    and records the new version."""
    url = f"http://{settings.http_host}:{settings.http_port}/api/flows/rollback"
    request = urllib.request.Request(
        url,
        data=json.dumps({"version": version}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.load(response)
    except urllib.error.HTTPError as exc:
        reply = json.load(exc)
        why = reply.get("error") or f"version {version} does not load now; flows/ is unchanged"
        problems = "".join(f"\n  {p}" for p in reply.get("problems", []))
        print(f"ivr flow rollback: {why}{problems}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ivr flow rollback: the engine is not reachable at {url}: {exc}", file=sys.stderr)
        return 2
    new = reply.get("version", {})
    print(f"flows: version {version} serves again (recorded as version {new.get('id')})")
    return 0

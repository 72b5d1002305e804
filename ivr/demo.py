"""`make demo`: the engine on the sandbox Asterisk, scripted calls through the real menu."""

import asyncio
import json
import urllib.request
from dataclasses import replace
from pathlib import Path

from ivr.app import Engine
from ivr.calls.place import CallReport, place_call
from ivr.calls.tester import tester_ami
from ivr.config import PROJECT_ROOT, Settings

SCRIPT = (
    # (description, line, caller, dtmf)
    ("new connection via the connections line", "5552000", "+380441110001", ["1"]),
    ("subscriber: internet support", "5551000", "+380441110002", ["2", "1"]),
    ("subscriber: TV support", "5553000", "+380322220003", ["2", "2"]),
    ("unknown line: default flow", "5559999", "+380441110004", ["2", "3"]),
)


def _table(rows: list[tuple[str, CallReport]]) -> str:
    head = f"{'call':<40} {'via':<9} {'menu path':<28} {'queue':<12} {'prio':>4}  outcome"
    lines = [head, "-" * len(head)]
    for title, r in rows:
        lines.append(
            f"{title:<40} {r.via or '-':<9} {r.path or '-':<28} "
            f"{r.queued_in or '-':<12} {r.priority or '-':>4}  {r.outcome}"
        )
    return "\n".join(lines)


async def run_demo(settings: Settings) -> int:
    db = PROJECT_ROOT / "var" / "demo.db"
    db.parent.mkdir(exist_ok=True)
    db.unlink(missing_ok=True)
    settings = replace(settings, database_url=f"sqlite:///{db}")
    ami = tester_ami(settings)
    await ami.connect()
    results: list[tuple[str, CallReport]] = []
    engine = Engine(settings)
    await engine.start()
    try:
        for title, line, caller, dtmf in SCRIPT:
            print(f"calling {line} from {caller}, keys {' '.join(dtmf) or '-'}: {title}")
            results.append((title, await place_call(ami, line, caller, dtmf, timeout=30)))
        await engine.journal.flush()
        url = f"http://{settings.http_host}:{settings.http_port}/api/calls?limit=20"
        journal = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(url)))
    finally:
        await engine.stop()
    print("engine stopped: the next call must take the dialplan's fallback path")
    results.append(
        (
            "engine down: fallback",
            await place_call(ami, "5551000", "+380441110005", ["1"], timeout=30),
        )
    )
    await ami.close()
    print()
    print(_table(results))
    print(f"\ncall journal ({url}): {len(journal['calls'])} calls recorded in {Path(db)}")
    for row in journal["calls"]:
        print(
            f"  {row['call_id']:<24} line {row['line']:<8} {row['outcome'] or '-':<10} "
            f"queue {row['queue'] or '-':<12} path {row['menu_path'] or '-'}"
        )
    ok = all(r.ok for _, r in results)
    print("\ndemo", "passed: every caller reached a queue" if ok else "FAILED: a caller was lost")
    return 0 if ok else 1

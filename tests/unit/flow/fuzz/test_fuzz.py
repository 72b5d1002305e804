"""The fuzz corpus (generate.py) against flow and queue loading: no traceback, no hang, one
printable `file:line:col: ...` line per problem, and a bounded memory footprint.

Two worker processes share the cases (2 cores); each case has an alarm (worker.py), each
worker an address-space limit, the whole run a deadline.
"""

import json
import subprocess
import sys
from typing import Any

from ivr.config import PROJECT_ROOT
from tests.unit.flow.fuzz.generate import cases
from tests.unit.flow.fuzz.worker import CASE_SECONDS

SHARDS = 2
DEADLINE = 240  # seconds for the whole run (about 15 s on 2 idle cores)
PEAK_RSS_KB = 200 * 1024  # the bombs once took gigabytes
HOSTILE = ("fifo", "link", "dir", "dangling", "loop", "huge", "bomb alone")


def _run_shards() -> tuple[list[dict[str, Any]], list[int]]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.unit.flow.fuzz.worker", str(shard), str(SHARDS)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for shard in range(SHARDS)
    ]
    results: list[dict[str, Any]] = []
    peaks: list[int] = []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines and "peak_rss_kb" in lines[-1], f"a worker died after {lines[-1:]}: {err}"
        results += lines[:-1]
        peaks.append(lines[-1]["peak_rss_kb"])
    return results, peaks


def test_hostile_flow_and_queue_files_never_crash_hang_or_bloat_the_loader() -> None:
    results, peaks = _run_shards()
    assert sorted(r["case"] for r in results) == sorted(c.name for c in cases())
    failed = [f"{r['case']}: {r['status']}: {r['detail']}" for r in results if r["status"] != "ok"]
    assert failed == []
    assert max(r["seconds"] for r in results) < CASE_SECONDS
    assert max(peaks) < PEAK_RSS_KB
    # not vacuous: every file swapped for a pipe, a link out, a bomb... is reported
    silent = [r["case"] for r in results if r["case"].endswith(HOSTILE) and r["problems"] == 0]
    assert silent == []

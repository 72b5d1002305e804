"""Run a shard of the fuzz corpus; one JSON line per case, then one with the peak memory.

Run in a subprocess by test_fuzz.py, with an address-space limit (a bomb that expands
fails here, not on the machine) and per-case alarms, on CPU time (a runaway parse) and real
time (a blocking read); either is reported as a hang.

    python -m tests.unit.flow.fuzz.worker SHARD SHARDS
"""

import json
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType

from ivr.config import PROJECT_ROOT
from ivr.flow.graph import flow_dot
from ivr.flow.loader import validate_library
from ivr.flow.reload import speakable
from ivr.queues.model import validate_queues
from ivr.yamlfiles.problems import Problem, printable
from tests.unit.flow.fuzz.generate import Case, apply, cases

CASE_SECONDS = 2.0  # of CPU: a runaway parse, whatever else the machine is doing
CASE_WALL_SECONDS = 15.0  # of real time: a read that blocks uses no CPU
MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of address space for the whole worker


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGPROF:
        raise Hang(f"over {CASE_SECONDS} s of CPU")
    raise Hang(f"over {CASE_WALL_SECONDS} s")


def _wrong_line(problem: Problem, root: Path) -> str | None:
    """What is wrong with how a problem prints, or None: one UTF-8 line, file first."""
    line = str(problem)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not printable: {exc}"
    if "\n" in line or "\r" in line:
        return f"more than one line: {line!r:.200}"
    if not Path(problem.file).is_relative_to(root):
        return f"a file outside the case: {problem.file!r}"
    file = printable(problem.file)
    if not line.startswith(file) or not re.match(r"(:\d+:\d+)?: \S", line[len(file) :]):
        return f"not file:line:col: ...: {line!r:.200}"
    return None


def run(case: Case, root: Path) -> list[Problem]:
    flows, queues = root / "flows", root / "queues.yaml"
    apply(case, flows, queues)
    if case.is_queues:
        return validate_queues(queues)[1]
    validation = validate_library(flows)
    if validation.library is not None:  # what reload and `ivr flow graph` do next
        speakable(validation.library)
        for name in validation.library.flows:
            flow_dot(validation.library, name)
    return validation.problems


def main(shard: int, shards: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    for index, case in enumerate(cases()):
        if index % shards != shard:
            continue
        with tempfile.TemporaryDirectory() as temp:
            root = Path(temp)
            shutil.copytree(PROJECT_ROOT / "flows", root / "flows")
            shutil.copy(PROJECT_ROOT / "queues.yaml", root / "queues.yaml")
            started = time.process_time()
            status, detail, problems = "ok", "", 0
            try:
                signal.setitimer(signal.ITIMER_PROF, CASE_SECONDS)
                signal.setitimer(signal.ITIMER_REAL, CASE_WALL_SECONDS)
                try:
                    found = run(case, root)
                finally:  # one-shot alarms: at most once each
                    signal.setitimer(signal.ITIMER_PROF, 0)
                    signal.setitimer(signal.ITIMER_REAL, 0)
                problems = len(found)
                wrong = [w for w in (_wrong_line(p, root) for p in found) if w]
                if wrong:
                    status, detail = "bad output", wrong[0]
            except Hang as exc:
                status, detail = "hang", str(exc)
            except Exception:  # MemoryError and RecursionError included
                status, detail = "traceback", traceback.format_exc(limit=-4)
            seconds = time.process_time() - started  # CPU: comparable on a busy machine
        result = {"case": case.name, "status": status, "seconds": seconds, "problems": problems}
        print(json.dumps({**result, "detail": detail}), flush=True)
    print(json.dumps({"peak_rss_kb": _peak_rss_kb()}), flush=True)


def _peak_rss_kb() -> int:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the
    forking parent across exec, so a big pytest process would count as the worker's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

"""Checks of queues.yaml values, each problem placed at its key or value.

No dataclasses here: ivr.queues.model assembles the checked values into the model.
A checker returns the valid value, or None after adding its problem.
"""

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ivr.yamlfiles.problems import Path, Problems

STRATEGIES = frozenset(
    {
        "ringall",
        "leastrecent",
        "fewestcalls",
        "random",
        "rrmemory",
        "linear",
        "wrandom",
        "rrordered",
    }
)
AUTOPAUSE = ("no", "yes", "all")  # app_queue autopause: "all" pauses the agent in every queue
ACTIONS = ("raise_priority", "overflow", "offer_callback")
ANNOUNCERS = ("engine", "asterisk")  # who tells a waiting caller his position and wait
ANNOUNCE_DEFAULTS: Mapping[str, Any] = {
    "by": "engine",
    "position": False,
    "wait": False,
    "every": 0,
}
QUEUE_DEFAULTS: Mapping[str, Any] = {  # a setting written neither in a queue nor in defaults
    "answer_target": 20,
    "talk_warning": 240,
    "talk_guideline": 300,
    "hard_limit": 0,
    "ring_time": 6,
    "retry": 1,
    "wrapup": 5,
    "autopause": "all",
    "strategy": "rrmemory",
    "record": False,
    "handle_time": 180,  # the average handle time predicted with until the journal has calls
    "early_callback": False,
    "announce": ANNOUNCE_DEFAULTS,
    "service_level_goal": 80,
}
SETTINGS = (*QUEUE_DEFAULTS, "escalation")
NAME = re.compile(r"[A-Za-z0-9_-]+")  # queue names and agent ids
RESERVED = ("general",)  # [general] is queues.conf's own settings section
# TECH/resource, with nothing that could split an AMI header, a Dial() argument or a config line
INTERFACE = re.compile(r"[A-Za-z0-9_-]+/[^\s,'\"|;\x00-\x1f\x7f]+")
INTERFACE_HINT = (
    "expected TECH/resource like PJSIP/1001 or Local/1001@agents, "
    "without spaces, commas, quotes, '|' or ';'"
)
MAX_SECONDS = 7 * 24 * 3600  # any time in queues.yaml: a week at most
MAX_WHOLE = 1_000_000  # priorities, penalties, attempts: far beyond any real setting
Checked = tuple[Any, Path]  # a value (None if invalid) and where it was written
Step = dict[str, Any]  # EscalationStep's fields


def mapping(value: Any, path: Path, problems: Problems, what: str) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    problems.add(path, f"expected {what}")
    return None


def unknown_keys(
    spec: Mapping[Any, Any], path: Path, known: Sequence[str], problems: Problems
) -> None:
    """Unknown keys are errors (a typo must not be ignored), with the closest known key."""
    for key in map(str, spec):
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected: {', '.join(known)}"
            problems.add((*path, key), f"unknown key ({hint})", at_key=True)


def names(spec: Mapping[Any, Any], path: Path, problems: Problems) -> list[str]:
    """The keys of a mapping of names; YAML reads a bare 1001 or yes as a number or bool."""
    found = [key for key in spec if isinstance(key, str)]
    for key in spec:
        if not isinstance(key, str):
            problems.add((*path, str(key)), "YAML reads this as a number: quote it", at_key=True)
    return found


def seconds(value: Any, path: Path, problems: Problems, *, positive: bool = False) -> Any:
    """A time: int or float (tests scale 20 s down to 0.5 s), never a bool, at most a week."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and value > MAX_SECONDS:
        problems.add(path, f"expected at most {MAX_SECONDS} seconds (a week), got {value!r}")
        return None
    if ok and (value > 0 if positive else value >= 0):
        return value
    problems.add(
        path, f"expected a number of seconds {'> 0' if positive else '>= 0'}, got {value!r}"
    )
    return None


def whole(
    value: Any,
    path: Path,
    problems: Problems,
    minimum: int,
    unit: str = "",
    maximum: int = MAX_WHOLE,
) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > maximum:
        problems.add(path, f"expected a whole number{unit} <= {maximum}, got {value!r}")
        return None
    problems.add(path, f"expected a whole number{unit} >= {minimum}, got {value!r}")
    return None


def text(value: Any, path: Path, problems: Problems, pattern: re.Pattern[str], hint: str) -> Any:
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    problems.add(path, f"{hint}, got {value!r}")
    return None


def _setting(key: str, value: Any, path: Path, problems: Problems) -> Any:
    if key in ("answer_target", "talk_guideline"):
        return seconds(value, path, problems, positive=True)
    if key in ("talk_warning", "hard_limit"):
        return seconds(value, path, problems)
    if key in ("ring_time", "retry", "wrapup"):
        minimum = 1 if key == "ring_time" else 0
        return whole(value, path, problems, minimum, " of seconds", MAX_SECONDS)
    if key == "handle_time":
        return seconds(value, path, problems, positive=True)
    if key == "announce":
        return _announce(value, path, problems)
    if key == "service_level_goal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and 0 < value < 100:
            return value
        problems.add(path, f"expected a percentage above 0 and below 100, got {value!r}")
        return None
    if key in ("record", "early_callback"):
        if isinstance(value, bool):
            return value
        problems.add(path, f"expected true or false, got {value!r}")
        return None
    if key == "autopause":
        value = ("yes" if value else "no") if isinstance(value, bool) else value
        choices: tuple[str, ...] = AUTOPAUSE
    else:
        choices = tuple(sorted(STRATEGIES))
    if value in choices:
        return value
    problems.add(path, f"expected one of {', '.join(choices)}, got {value!r}")
    return None


def _announce(value: Any, path: Path, problems: Problems) -> dict[str, Any] | None:
    """{by: engine|asterisk, position: bool, wait: bool, every: seconds (0: at the join
    only)}; a key not written keeps its default."""
    spec = mapping(value, path, problems, "a mapping like {position: true, wait: true, every: 30}")
    if spec is None:
        return None
    unknown_keys(spec, path, tuple(ANNOUNCE_DEFAULTS), problems)
    found = dict(ANNOUNCE_DEFAULTS)
    for key in ("position", "wait"):
        if key in spec and not isinstance(spec[key], bool):
            problems.add((*path, key), f"expected true or false, got {spec[key]!r}")
            return None
        found[key] = spec.get(key, found[key])
    if "by" in spec and spec["by"] not in ANNOUNCERS:
        problems.add((*path, "by"), f"expected one of {', '.join(ANNOUNCERS)}, got {spec['by']!r}")
        return None
    found["by"] = spec.get("by", found["by"])
    if "every" in spec:
        found["every"] = seconds(spec["every"], (*path, "every"), problems)
        if found["every"] is None:
            return None
    if found["by"] == "asterisk" and (found["position"] or found["wait"]) and not found["every"]:
        message = "app_queue announces only every so often: set every (seconds) > 0"
        problems.add((*path, "every") if "every" in spec else path, message)
        return None
    return found


def _step(item: Any, path: Path, problems: Problems) -> Step | None:
    spec = mapping(item, path, problems, "a step like {after: 20, raise_priority: 3}")
    if spec is None:
        return None
    unknown_keys(spec, path, ("after", *ACTIONS), problems)
    if "after" not in spec:
        problems.add(path, "missing after: the seconds waited before this step")
    after = seconds(spec["after"], (*path, "after"), problems) if "after" in spec else None
    actions = [a for a in ACTIONS if a in spec]
    if len(actions) != 1:
        got = f", got {' and '.join(actions)}" if actions else ""
        problems.add(path, f"expected exactly one of {', '.join(ACTIONS)}{got}")
        return None
    action = actions[0]
    value, where = spec[action], (*path, action)
    if action == "raise_priority":
        value = whole(value, where, problems, 1)
    elif action == "overflow" and not isinstance(value, str):
        problems.add(where, f"expected a queue name, got {value!r}")
        value = None
    elif action == "offer_callback" and value is not True:
        problems.add(where, f"expected true (or remove the step), got {value!r}")
        value = None
    if after is None or value is None:
        return None
    return {
        "after": after,
        "action": action,
        "raise_by": value if action == "raise_priority" else 0,
        "queue": value if action == "overflow" else "",
    }


def _ladder(value: Any, path: Path, problems: Problems) -> list[tuple[Step, Path]]:
    """The valid steps with their paths, sorted by `after`; duplicates are reported."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "expected a list of steps like {after: 20, raise_priority: 3}")
        return []
    steps: list[tuple[Step, Path]] = []
    for index, item in enumerate(value):
        step = _step(item, (*path, index), problems)
        if step is None:
            continue
        key = (step["after"], step["action"])
        earlier = [w[-1] for s, w in steps if (s["after"], s["action"]) == key]
        if earlier:
            message = f"duplicate step: {key[1]} after {key[0]:g} repeats escalation[{earlier[0]}]"
            problems.add((*path, index), message)
        else:
            steps.append((step, (*path, index)))
    return sorted(steps, key=lambda s: float(s[0]["after"]))


def settings(spec: Mapping[Any, Any], path: Path, problems: Problems) -> dict[str, Checked]:
    """The settings written in a queue or in defaults (None where invalid)."""
    found = {
        k: (_setting(k, spec[k], (*path, k), problems), (*path, k))
        for k in QUEUE_DEFAULTS
        if k in spec
    }
    if "escalation" in spec:
        where = (*path, "escalation")
        found["escalation"] = (_ladder(spec["escalation"], where, problems), where)
    return found


def effective(own: dict[str, Checked], defaults: dict[str, Checked]) -> dict[str, Any]:
    """A queue's settings: its own, else defaults, else QUEUE_DEFAULTS (None where invalid)."""
    return {
        k: (own.get(k) or defaults.get(k) or (QUEUE_DEFAULTS.get(k, []), ()))[0] for k in SETTINGS
    }


def check_times(own: dict[str, Checked], defaults: dict[str, Checked], problems: Problems) -> None:
    """talk_warning < talk_guideline < hard_limit (unless 0), blamed where written."""
    value = effective(own, defaults)
    warning, guideline, limit = value["talk_warning"], value["talk_guideline"], value["hard_limit"]
    if None in (warning, guideline, limit):
        return

    def blame(key: str) -> Path:  # the queue's own value first, then defaults
        found = [s[k][1] for s in (own, defaults) for k in (key, "talk_guideline") if k in s]
        return found[0] if found else ()

    if warning >= guideline:
        message = f"talk_warning ({warning:g}) must be less than talk_guideline ({guideline:g})"
        problems.add(blame("talk_warning"), message)
    if limit and limit <= guideline:
        message = (
            f"hard_limit ({limit:g}) must be 0 (off) or more than talk_guideline ({guideline:g})"
        )
        problems.add(blame("hard_limit"), message)


# Local/<exten>@<context>[/<options>]: Asterisk's Local channel and its options
LOCAL_DIAL = re.compile(r"local/[^/]*(?:/(?P<options>[^/]*))?", re.IGNORECASE)
LOCAL_DIAL_HINT = (
    "a Local channel here needs /n (no optimisation), e.g. 'Local/{phone}@ivr-callback-out/n',"
    " or dial the trunk itself, e.g. 'PJSIP/{phone}@provider': an optimised Local channel"
    " leaves the queue as soon as its call is bridged, and the callback loses its talk time"
    " and talk guideline"
)


def _dial(value: Any, path: Path, problems: Problems) -> Any:
    rest = value.replace("{phone}", "0") if isinstance(value, str) else ""
    local = LOCAL_DIAL.fullmatch(rest)
    if not isinstance(value, str) or "{phone}" not in value:
        problems.add(path, f"must contain {{phone}}, the number to call, got {value!r}")
    elif "{" in rest or "}" in rest:
        problems.add(path, f"only {{phone}} may be in braces, got {value!r}")
    elif not INTERFACE.fullmatch(rest):
        problems.add(path, f"{INTERFACE_HINT}, got {value!r}")
    elif local is not None and "n" not in (local["options"] or ""):
        problems.add(path, f"{LOCAL_DIAL_HINT}, got {value!r}")
    else:
        return value
    return None


def callback_setting(key: str, value: Any, path: Path, problems: Problems) -> Any:
    if key in ("promise", "ring_seconds", "poll_interval"):
        return seconds(value, path, problems, positive=True)
    if key == "retry_after":
        return seconds(value, path, problems)
    if key in ("max_rings", "attempts"):
        return whole(value, path, problems, 1)
    if key == "dial":
        return _dial(value, path, problems)
    if key == "caller_id":  # an AMI header: no line breaks
        return text(value, path, problems, re.compile(r"[^\x00-\x1f\x7f]*"), "expected text")
    if key in ("offer_prompt", "confirm_prompt", "no_number_prompt", "later_prompt"):
        return text(value, path, problems, re.compile(r"\S+"), "expected a prompt name")
    if key == "greeting_prompt":  # "" plays no greeting
        return text(value, path, problems, re.compile(r"\S*"), "expected a prompt name or ''")
    if key == "hours":  # "" is at any time
        hint = "expected a schedule of flows/calendar.yaml (e.g. operators) or '' (any time)"
        return text(value, path, problems, re.compile(r"[A-Za-z0-9_-]*"), hint)
    if key != "accept_key":
        raise KeyError(f"no check for callbacks.{key}")
    value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return text(value, path, problems, re.compile(r"[0-9]"), "expected one DTMF digit 0-9")


# Recordings: where Asterisk writes them (a path as Asterisk sees it) and how long they are kept.
RECORDING_DIR = re.compile(r"/[A-Za-z0-9_./-]*")


def recording_setting(key: str, value: Any, path: Path, problems: Problems) -> Any:
    if key == "retention_days":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and math.isfinite(value) and 0 <= value <= 36500:
            return value
        problems.add(path, f"expected days from 0 (keep forever) to 36500, got {value!r}")
        return None
    if key == "sweep_interval":
        return seconds(value, path, problems, positive=True)
    if key != "directory":
        raise KeyError(f"no check for recordings.{key}")
    if isinstance(value, str) and RECORDING_DIR.fullmatch(value) and ".." not in value.split("/"):
        return value.rstrip("/") or "/"
    hint = "expected an absolute path of letters, digits, '_', '-', '.'"
    problems.add(path, f"{hint}, got {value!r}")
    return None


def outage_alert_setting(key: str, value: Any, path: Path, problems: Problems) -> Any:
    if key == "enabled":
        if isinstance(value, bool):
            return value
        problems.add(path, f"expected true or false, got {value!r}")
        return None
    if key in ("window", "baseline_refresh", "check_interval"):
        return seconds(value, path, problems, positive=True)
    if key in ("min_calls", "baseline_weeks"):
        return whole(
            value, path, problems, 1, maximum=1000 if key == "baseline_weeks" else MAX_WHOLE
        )
    if key in ("factor", "clear_ratio"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        if key == "factor" and ok and 1 <= value <= 1000:
            return float(value)
        if key == "clear_ratio" and ok and 0 < value <= 1:
            return float(value)
        wanted = "from 1 to 1000" if key == "factor" else "> 0 and <= 1"
        problems.add(path, f"expected a number {wanted}, got {value!r}")
        return None
    if key != "message_prompt":
        raise KeyError(f"no check for outage_alerts.{key}")
    return text(value, path, problems, re.compile(r"\S+"), "expected a prompt name")

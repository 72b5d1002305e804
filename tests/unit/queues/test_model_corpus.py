"""Broken queues.yaml files, each with the exact problems an admin sees:
`file:line:col: key: message`, all of them in one pass."""

from pathlib import Path

import pytest

from ivr.queues.model import QueuesConfigError, load_queues
from tests.unit.queues.yaml_cases import BASE, edit, problems

NO_SKILL_FOR_B = (
    "queues.yaml:10:29: warning: defaults.escalation[1].overflow: "
    "no agent has a skill for 'b': overflowed callers would wait"
)
INTERFACE = (
    "expected TECH/resource like PJSIP/1001 or Local/1001@agents, "
    "without spaces, commas, quotes, '|' or ';'"
)
LOCAL_DIAL = (
    "a Local channel here needs /n (no optimisation), e.g. 'Local/{phone}@ivr-callback-out/n',"
    " or dial the trunk itself, e.g. 'PJSIP/{phone}@provider': an optimised Local channel"
    " leaves the queue as soon as its call is bridged, and the callback loses its talk time"
    " and talk guideline"
)
QUEUE_KEYS = (
    "title, answer_target, talk_warning, talk_guideline, hard_limit, ring_time, retry, wrapup, "
    "autopause, strategy, record, handle_time, early_callback, announce, service_level_goal, "
    "escalation"
)

# (changes to BASE, the exact problems)
CORPUS: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "unknown key with a suggestion": (
        [("  a: {title: A}", "  a: {title: A, answer_targt: 10}")],
        ["queues.yaml:17:17: queues.a.answer_targt: unknown key (did you mean 'answer_target'?)"],
    ),
    "announce: a typo in its keys": (
        [("  a: {title: A}", "  a: {title: A, announce: {postion: true}}")],
        ["queues.yaml:17:28: queues.a.announce.postion: unknown key (did you mean 'position'?)"],
    ),
    "announce: not a flag, not an announcer": (
        [
            ("  a: {title: A}", "  a: {title: A, announce: {wait: 1}}"),
            (
                "  b: {title: B, escalation: []}",
                "  b: {title: B, escalation: [], announce: {by: me}}",
            ),
        ],
        [
            "queues.yaml:17:34: queues.a.announce.wait: expected true or false, got 1",
            "queues.yaml:18:48: queues.b.announce.by: expected one of engine, asterisk, got 'me'",
        ],
    ),
    "announce by app_queue needs a frequency": (
        [("  a: {title: A}", "  a: {title: A, announce: {by: asterisk, position: true}}")],
        [
            "queues.yaml:17:27: queues.a.announce: app_queue announces only every so often:"
            " set every (seconds) > 0"
        ],
    ),
    "prediction settings: a handle time and a flag": (
        [("  a: {title: A}", "  a: {title: A, handle_time: 0, early_callback: yes please}")],
        [
            "queues.yaml:17:30: queues.a.handle_time: expected a number of seconds > 0, got 0",
            "queues.yaml:17:49: queues.a.early_callback: expected true or false, got 'yes please'",
        ],
    ),
    "unknown top-level key": (
        [("fallback_queue: a", "fallback_queue: a\nagent: {}")],
        ["queues.yaml:4:1: agent: unknown key (did you mean 'agents'?)"],
    ),
    "unknown key with nothing close": (
        [("  a: {title: A}", "  a: {title: A, zzz: 1}")],
        [f"queues.yaml:17:17: queues.a.zzz: unknown key (expected: {QUEUE_KEYS})"],
    ),
    "a time that is text": (
        [("answer_target: 20", "answer_target: twenty")],
        [
            "queues.yaml:5:18: defaults.answer_target: "
            "expected a number of seconds > 0, got 'twenty'"
        ],
    ),
    "a time that is a boolean": (
        [("answer_target: 20", "answer_target: true")],
        ["queues.yaml:5:18: defaults.answer_target: expected a number of seconds > 0, got True"],
    ),
    "talk_warning not below talk_guideline": (
        [("talk_warning: 240", "talk_warning: 300")],
        [
            "queues.yaml:6:17: defaults.talk_warning: "
            "talk_warning (300) must be less than talk_guideline (300)"
        ],
    ),
    "a queue's guideline below the default warning is blamed on the queue": (
        [("  a: {title: A}", "  a: {title: A, talk_guideline: 200}")],
        [
            "queues.yaml:17:33: queues.a.talk_guideline: "
            "talk_warning (240) must be less than talk_guideline (200)"
        ],
    ),
    "hard_limit not above talk_guideline": (
        [("  a: {title: A}", "  a: {title: A, hard_limit: 300}")],
        [
            "queues.yaml:17:29: queues.a.hard_limit: "
            "hard_limit (300) must be 0 (off) or more than talk_guideline (300)"
        ],
    ),
    "escalation step with two actions": (
        [("{after: 20, raise_priority: 3}", "{after: 20, raise_priority: 3, overflow: b}")],
        [
            "queues.yaml:9:7: defaults.escalation[0]: expected exactly one of raise_priority, "
            "overflow, offer_callback, got raise_priority and overflow"
        ],
    ),
    "escalation step with no action": (
        [("{after: 20, raise_priority: 3}", "{after: 20}")],
        [
            "queues.yaml:9:7: defaults.escalation[0]: "
            "expected exactly one of raise_priority, overflow, offer_callback"
        ],
    ),
    "escalation step without after": (
        [("{after: 20, raise_priority: 3}", "{raise_priority: 3}")],
        [
            "queues.yaml:9:7: defaults.escalation[0]: "
            "missing after: the seconds waited before this step"
        ],
    ),
    "offer_callback that is not true": (
        [("{after: 20, raise_priority: 3}", "{after: 20, offer_callback: no}")],
        [
            "queues.yaml:9:35: defaults.escalation[0].offer_callback: "
            "expected true (or remove the step), got False"
        ],
    ),
    "raise_priority below 1": (
        [("raise_priority: 3", "raise_priority: 0")],
        [
            "queues.yaml:9:35: defaults.escalation[0].raise_priority: "
            "expected a whole number >= 1, got 0"
        ],
    ),
    "duplicate step": (
        [("    - {after: 60, overflow: b}", "    - {after: 20.0, raise_priority: 1}")],
        [
            "queues.yaml:10:7: defaults.escalation[1]: "
            "duplicate step: raise_priority after 20 repeats escalation[0]"
        ],
    ),
    "overflow to an unknown queue": (
        [("overflow: b}", "overflow: c}")],
        ["queues.yaml:10:29: defaults.escalation[1].overflow: unknown queue 'c' (queues: a, b)"],
    ),
    "overflow to itself through the defaults": (
        [("  b: {title: B, escalation: []}", "  b: {title: B}")],
        [
            "queues.yaml:10:29: defaults.escalation[1].overflow: "
            "queue 'b' would overflow to itself (it uses the defaults: give it its own)"
        ],
    ),
    "overflow to itself in its own ladder": (
        [("escalation: []}", "escalation: [{after: 5, overflow: b}]}")],
        ["queues.yaml:18:51: queues.b.escalation[0].overflow: queue 'b' would overflow to itself"],
    ),
    "agent skill for an unknown queue": (
        [("skills: {a: 0, b: 1}", "skills: {a: 0, b: 1, c: 2}")],
        ["queues.yaml:15:69: agents.1001.skills.c: unknown queue 'c' (queues: a, b)"],
    ),
    "interface with a comma": (
        [("interface: PJSIP/1001", 'interface: "PJSIP/1001,x"')],
        [f"queues.yaml:15:36: agents.1001.interface: {INTERFACE}, got 'PJSIP/1001,x'"],
    ),
    "interface with a newline": (
        [("interface: PJSIP/1001", 'interface: "PJSIP/1001\\nDial(x)"')],
        [f"queues.yaml:15:36: agents.1001.interface: {INTERFACE}, got 'PJSIP/1001\\nDial(x)'"],
    ),
    "state_interface with a comma": (
        [("interface: PJSIP/1001,", 'interface: Local/1001@a, state_interface: "PJSIP/1,x",')],
        [f"queues.yaml:15:67: agents.1001.state_interface: {INTERFACE}, got 'PJSIP/1,x'"],
    ),
    "two agents with one interface": (
        [('  "1001"', '  "1002": {name: Б, interface: PJSIP/1001, skills: {a: 0}}\n  "1001"')],
        [
            "queues.yaml:16:36: agents.1001.interface: "
            "'PJSIP/1001' is also the interface of agent '1002'"
        ],
    ),
    "unquoted agent id": (
        [('  "1001"', '  1002: {name: Б, interface: PJSIP/1002, skills: {a: 0}}\n  "1001"')],
        ["queues.yaml:15:3: agents.1002: YAML reads this as a number: quote it"],
    ),
    "dial without {phone}": (
        [('dial: "PJSIP/{phone}@out"', 'dial: "Local/123@out"')],
        [
            "queues.yaml:12:9: callbacks.dial: "
            "must contain {phone}, the number to call, got 'Local/123@out'"
        ],
    ),
    "dial with another placeholder": (
        [('dial: "PJSIP/{phone}@out"', 'dial: "Local/{phone}@{ctx}"')],
        [
            "queues.yaml:12:9: callbacks.dial: "
            "only {phone} may be in braces, got 'Local/{phone}@{ctx}'"
        ],
    ),
    "dial through an optimised Local channel": (
        [('dial: "PJSIP/{phone}@out"', 'dial: "Local/{phone}@ivr-callback-out"')],
        [f"queues.yaml:12:9: callbacks.dial: {LOCAL_DIAL}, got 'Local/{{phone}}@ivr-callback-out'"],
    ),
    "dial through a Local channel with options but not /n": (
        [('dial: "PJSIP/{phone}@out"', 'dial: "local/{phone}@out/m"')],
        [f"queues.yaml:12:9: callbacks.dial: {LOCAL_DIAL}, got 'local/{{phone}}@out/m'"],
    ),
    "accept_key of two digits": (
        [('accept_key: "1"', 'accept_key: "12"')],
        ["queues.yaml:13:15: callbacks.accept_key: expected one DTMF digit 0-9, got '12'"],
    ),
    "bad autopause": (
        [("  a: {title: A}", "  a: {title: A, autopause: sometimes}")],
        ["queues.yaml:17:28: queues.a.autopause: expected one of no, yes, all, got 'sometimes'"],
    ),
    "bad strategy": (
        [("  a: {title: A}", "  a: {title: A, strategy: fastest}")],
        [
            "queues.yaml:17:27: queues.a.strategy: expected one of fewestcalls, leastrecent, "
            "linear, random, ringall, rrmemory, rrordered, wrandom, got 'fastest'"
        ],
    ),
    "caller class priority that is not an integer": (
        [("{priority: 10}", "{priority: high}")],
        [
            "queues.yaml:2:19: caller_classes.vip.priority: "
            "expected an integer (higher is served first), got 'high'"
        ],
    ),
    "unknown fallback queue": (
        [("fallback_queue: a", "fallback_queue: z")],
        ["queues.yaml:3:17: fallback_queue: 'z' is not a queue (queues: a, b)"],
    ),
    "a queue named general": (
        [("escalation: []}", "escalation: []}\n  general: {}")],
        [
            "queues.yaml:19:3: queues.general: "
            "a queue name is letters, digits, '_' or '-', and not general"
        ],
    ),
    "several problems are reported together, in file order": (
        [
            ("answer_target: 20", "answer_target: -1"),
            ('accept_key: "1"', "accept_key: x"),
            ("  a: {title: A}", "  a: {title: A, ring_time: 2.5}"),
        ],
        [
            "queues.yaml:5:18: defaults.answer_target: expected a number of seconds > 0, got -1",
            "queues.yaml:13:15: callbacks.accept_key: expected one DTMF digit 0-9, got 'x'",
            "queues.yaml:17:28: queues.a.ring_time: "
            "expected a whole number of seconds >= 1, got 2.5",
        ],
    ),
    # Hostile values (issue 11): each once a traceback or an absurd queues.conf.
    "a time of .inf": (
        [("answer_target: 20", "answer_target: .inf")],
        ["queues.yaml:5:18: defaults.answer_target: expected a number of seconds > 0, got inf"],
    ),
    "a time of .nan": (
        [("{after: 20, raise_priority: 3}", "{after: .nan, raise_priority: 3}")],
        [
            "queues.yaml:9:15: defaults.escalation[0].after: "
            "expected a number of seconds >= 0, got nan"
        ],
    ),
    "a time longer than a week": (
        [("talk_guideline: 300", "talk_guideline: 1.0e+30")],
        [
            "queues.yaml:7:19: defaults.talk_guideline: "
            "expected at most 604800 seconds (a week), got 1e+30"
        ],
    ),
    "a whole number of seconds beyond a week": (
        [("  a: {title: A}", "  a: {title: A, wrapup: 99999999}")],
        [
            "queues.yaml:17:25: queues.a.wrapup: "
            "expected a whole number of seconds <= 604800, got 99999999"
        ],
    ),
    "a priority beyond a million": (
        [("vip: {priority: 10}", "vip: {priority: 9223372036854775807}")],
        [
            "queues.yaml:2:19: caller_classes.vip.priority: "
            "expected an integer from -1000000 to 1000000, got 9223372036854775807"
        ],
    ),
    "an integer beyond 64 bits": (
        [("vip: {priority: 10}", "vip: {priority: 99999999999999999999}")],
        ["queues.yaml:2:19: refused: an integer this large is no setting"],
    ),
    "a fullwidth digit as the accept key": (
        [('accept_key: "1"', 'accept_key: "１"')],
        ["queues.yaml:13:15: callbacks.accept_key: expected one DTMF digit 0-9, got '１'"],
    ),
    "an alias loop": (
        [("  b: {title: B, escalation: []}", "  b: &b {title: B, escalation: [*b]}")],
        ["queues.yaml:18:6: refused: an alias inside the value it names (a loop)"],
    ),
    "deep nesting": (
        [("  b: {title: B, escalation: []}", "  b: {title: B, escalation: " + "[" * 999)],
        ["queues.yaml:18:76: refused: nested deeper than 50 levels"],
    ),
    "missing required keys": (
        [("fallback_queue: a\n", "")],
        ["queues.yaml:1:1: fallback_queue: missing (required)"],
    ),
    "not valid YAML": (
        [("  a: {title: A}", "  a: {title: A")],
        ["queues.yaml:18:4: not valid YAML: expected ',' or '}', but got ':'"],
    ),
}


def test_the_base_file_is_clean(tmp_path: Path) -> None:
    assert problems(tmp_path, BASE) == []


@pytest.mark.parametrize(("changes", "expected"), CORPUS.values(), ids=CORPUS.keys())
def test_broken_files_report_their_exact_problems(
    tmp_path: Path, changes: list[tuple[str, str]], expected: list[str]
) -> None:
    assert problems(tmp_path, edit(*changes)) == expected
    with pytest.raises(QueuesConfigError) as raised:
        load_queues(tmp_path / "queues.yaml")
    assert str(raised.value).replace(f"{tmp_path}/", "") == "\n".join(expected)


def test_overflow_to_a_queue_nobody_serves_is_only_a_warning(tmp_path: Path) -> None:
    assert problems(tmp_path, edit(("skills: {a: 0, b: 1}", "skills: {a: 0}"))) == [NO_SKILL_FOR_B]
    assert load_queues(tmp_path / "queues.yaml").queues["a"].escalation[1].queue == "b"


def test_an_empty_file_is_one_clear_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, "# nothing yet\n") == [
        "queues.yaml: expected a mapping with caller_classes, fallback_queue, queues"
    ]

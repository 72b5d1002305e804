"""A corpus of broken flows/ directories, each with the exact problems a supervisor sees:
`file:line:col: key: message`, and nothing more (one mistake, one report)."""

from pathlib import Path

import pytest

from ivr.flow.loader import FlowError, load_library, validate_library

PROMPTS = "languages: [uk, en]\nprompts:\n  hello: {uk: Привіт, en: Hello}\n  beep: {sound: beep}\n"
CALENDAR = (
    "timezone: Europe/Kyiv\n"
    "holidays: [2026-01-01]\n"
    "schedules:\n"
    '  operators: {mon-sat: "08:00-22:00"}\n'
)
LINES = "default_flow: f\nlines:\n  - {number: '100', sphere: service, flow: f, language: en}\n"
ROUTE = "  r: {type: route, queue: internet, class: existing_service}\n"
FLOW = "name: f\nstart: r\nnodes:\n" + ROUTE
OTHER = "name: g\nstart: h\nnodes:\n  h: {type: hangup}\n"
GOOD = {
    "prompts.yaml": PROMPTS,
    "calendar.yaml": CALENDAR,
    "lines.yaml": LINES,
    "f.yaml": FLOW,
    "g.yaml": OTHER,
}


def flow(*nodes: str) -> dict[str, str]:
    """f.yaml starting at its first node, with the route `r` after the given nodes."""
    start = nodes[0].split(":")[0].strip()
    return {"f.yaml": f"name: f\nstart: {start}\nnodes:\n" + "".join(nodes) + ROUTE}


# (files replacing the good ones, the exact problems); node lines start on line 4 of f.yaml
CORPUS: dict[str, tuple[dict[str, str], list[str]]] = {
    "unknown prompt name": (
        flow("  p: {type: play, prompt: [hello, helo], next: r}\n"),
        ["f.yaml:4:27: nodes.p.prompt: unknown prompt 'helo' (not in prompts.yaml: beep, hello)"],
    ),
    "unknown schedule": (
        flow("  c: {type: condition, cases: [{if: {open: operator}, then: r}], else: r}\n"),
        [
            "f.yaml:4:44: nodes.c.cases[0].if.open: unknown schedule 'operator' "
            "(not in calendar.yaml schedules: operators)"
        ],
    ),
    "unknown flow in goto": (
        flow("  g: {type: goto, flow: support}\n"),
        ["f.yaml:4:25: nodes.g.flow: unknown flow 'support' (not in flows/: f, g)"],
    ),
    "unknown node in goto": (
        flow("  g: {type: goto, node: rr}\n"),
        ["f.yaml:4:25: nodes.g.node: unknown node 'rr'"],
    ),
    "unknown language in a language node": (
        flow("  l: {type: language, options: {'1': uk, '2': de}, next: r}\n"),
        [
            "f.yaml:4:47: nodes.l.options.2: unknown language 'de' "
            "(not in prompts.yaml languages: en, uk)"
        ],
    ),
    "unknown language in a condition": (
        flow("  c: {type: condition, cases: [{if: {language: ua}, then: r}], else: r}\n"),
        [
            "f.yaml:4:48: nodes.c.cases[0].if.language: unknown language 'ua' "
            "(not in prompts.yaml languages: en, uk)"
        ],
    ),
    "duplicate DTMF key 1 and '1'": (
        flow(
            "  m:\n    type: menu\n    options:\n      1: r\n      '1': p\n",
            "  p: {type: play, next: r}\n",
        ),
        [
            "f.yaml:8:7: nodes.m.options.1: duplicate key (YAML keeps only the last one)",
            "f.yaml:8:7: nodes.m.options.1: DTMF key 1 is listed twice",
        ],
    ),
    "loop without exit": (
        flow(
            "  m: {type: menu, prompt: hello, options: {'1': p}, on_timeout: p, on_invalid: p}\n",
            "  p: {type: play, prompt: beep, next: m}\n",
            "  x: {type: goto, node: r}\n",
        ),
        [
            "f.yaml:6:3: warning: nodes.x: unreachable from start",
            "f.yaml:7:3: warning: nodes.r: unreachable from start",
            "f.yaml:4:3: nodes.m: no route, hangup or other flow can be reached from here "
            "(a loop without exit or a dead end)",
            "f.yaml:5:3: nodes.p: no route, hangup or other flow can be reached from here "
            "(a loop without exit or a dead end)",
        ],
    ),
    "condition with a bad time": (
        flow("  c: {type: condition, cases: [{if: {time: '25:00-08:00'}, then: r}], else: r}\n"),
        ["f.yaml:4:44: nodes.c.cases[0].if.time: '25:00' is not a time of day (00:00-24:00)"],
    ),
    "condition with an unknown test": (
        flow("  c: {type: condition, cases: [{if: {weekday: mon}, then: r}], else: r}\n"),
        [
            "f.yaml:4:38: nodes.c.cases[0].if.weekday: unknown test (expected: caller, city, "
            "days, holiday, language, open, outage, sphere, time, var)"
        ],
    ),
    "collect max_digits < min_digits": (
        flow("  c: {type: collect, var: n, min_digits: 8, max_digits: 4, next: r}\n"),
        ["f.yaml:4:57: nodes.c.max_digits: expected a whole number from min_digits to 32"],
    ),
    "collect with a bad pattern": (
        flow("  c: {type: collect, var: n, pattern: '[0-9', next: r}\n"),
        [
            "f.yaml:4:39: nodes.c.pattern: not a regular expression: unterminated character "
            "set at position 0"
        ],
    ),
    "identify reading a variable by phone": (
        flow("  i: {type: identify, var: contract, found: r, not_found: r}\n"),
        ["f.yaml:4:23: nodes.i.var: only identify by: contract reads a variable"],
    ),
    "a misspelt key": (
        flow("  p: {type: play, prompt: hello, nxt: r}\n"),
        [
            "f.yaml:4:34: nodes.p.nxt: unknown key for a play node (expected: next, prompt, type)",
            "f.yaml:4:6: nodes.p.next: expected a node id",  # missing: placed at the node
        ],
    ),
    "a node of no known type": (
        flow("  d: {type: dial, next: r}\n"),
        [
            "f.yaml:4:13: nodes.d.type: 'dial' is not one of ['callback', 'choose', 'collect', "
            "'condition', 'goto', 'hangup', 'identify', 'language', 'menu', 'meter_reading', "
            "'outage', 'play', 'route', 'set', 'unreachable_report']"
        ],
    ),
    "a set with a malformed placeholder": (
        flow("  s: {type: set, vars: {who: 'Mr {name'}, next: r}\n"),
        ["f.yaml:4:30: nodes.s.vars.who: expected '}' before end of string"],
    ),
    "a flow defined twice": (
        {"h.yaml": OTHER},
        ["h.yaml:1:7: name: flow 'g' is defined twice"],
    ),
    "an unquoted impossible date": (
        {"calendar.yaml": "timezone: Europe/Kyiv\nholidays:\n  - 2026-01-01\n  - 2026-02-30\n"},
        ["calendar.yaml:4:5: not valid YAML: day is out of range for month"],
    ),
    "calendar with a bad timezone": (
        {"calendar.yaml": CALENDAR.replace("Europe/Kyiv", "Europe/Kiev/")},
        ["calendar.yaml:1:11: timezone: unknown time zone 'Europe/Kiev/' (e.g. Europe/Kyiv)"],
    ),
    "calendar with a bad holiday": (
        {"calendar.yaml": CALENDAR.replace("[2026-01-01]", "[2026-01-01, '26-12-25']")},
        ["calendar.yaml:2:24: holidays[1]: '26-12-25' is not a date (YYYY-MM-DD)"],
    ),
    "calendar with holidays that are not a list": (
        {"calendar.yaml": CALENDAR.replace("[2026-01-01]", "2026-01-01")},
        ["calendar.yaml:2:11: holidays: expected a list of dates, e.g. [2026-01-01, 2026-12-25]"],
    ),
    "a control character": (
        {"g.yaml": OTHER.replace("hangup", "hang\x07up")},
        [
            "g.yaml:4:17: not valid YAML: unacceptable character #x0007: special characters "
            "are not allowed"
        ],
    ),
    "a broken prompts.yaml does not cascade into every node and line": (
        {
            "prompts.yaml": "languages: [uk, en\nprompts: {}\n",
            "lines.yaml": LINES + "  - {number: '101', sphere: audit, flow: f, language: uk}\n",
            **flow(
                "  p: {type: play, prompt: [hello, beep], next: l}\n",
                "  l: {type: language, options: {'1': uk, '2': en}, next: r}\n",
            ),
        },
        ["prompts.yaml:2:8: not valid YAML: expected ',' or ']', but got ':'"],
    ),
    # Hostile files (issue 11): each once a traceback, a hang or gigabytes.
    "an alias loop": (
        {"g.yaml": OTHER + "loop: &a [*a]\n"},
        ["g.yaml:5:7: refused: an alias inside the value it names (a loop)"],
    ),
    "deep nesting": (
        {"g.yaml": OTHER + "deep: " + "[" * 5000 + "\n"},
        ["g.yaml:5:56: refused: nested deeper than 50 levels"],
    ),
    "an anchor bomb (billion laughs)": (
        {
            "g.yaml": "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            )
        },
        ["g.yaml:5:4: refused: more than 10000 values once aliases are expanded"],
    ),
    "an integer beyond 64 bits": (
        {"g.yaml": OTHER + "big: 0x" + "f" * 40 + "\n"},
        ["g.yaml:5:6: refused: an integer this large is no setting"],
    ),
    "a time zone that is a directory of zones": (
        {"calendar.yaml": CALENDAR.replace("Europe/Kyiv", "Europe")},
        ["calendar.yaml:1:11: timezone: unknown time zone 'Europe' (e.g. Europe/Kyiv)"],
    ),
    "a time zone that is a path": (
        {"calendar.yaml": CALENDAR.replace("Europe/Kyiv", "../../../etc/passwd")},
        [
            "calendar.yaml:1:11: timezone: unknown time zone '../../../etc/passwd' "
            "(e.g. Europe/Kyiv)"
        ],
    ),
    "default_flow as a list": (
        {"lines.yaml": LINES.replace("default_flow: f", "default_flow: [f]")},
        ["lines.yaml:1:15: default_flow: expected a flow's name, got ['f']"],
    ),
    "a line's flow as a mapping": (
        {"lines.yaml": LINES.replace("flow: f,", "flow: {f: 1},")},
        ["lines.yaml:3:44: lines[0].flow: expected a flow's name, got {'f': 1}"],
    ),
    "start as a mapping": (
        {"g.yaml": OTHER.replace("start: h", "start: {h: 1}")},
        ["g.yaml:2:8: start: {'h': 1} is not a node"],
    ),
    "retries: .inf": (
        flow("  m: {type: menu, retries: .inf, options: {'1': r}}\n"),
        ["f.yaml:4:28: nodes.m.retries: expected a whole number from 0 to 10"],
    ),
    "timeout: .inf": (
        flow("  m: {type: menu, timeout: .inf, options: {'1': r}}\n"),
        ["f.yaml:4:28: nodes.m.timeout: expected a number from 0.5 to 60"],
    ),
    "timeout: .nan": (
        flow("  m: {type: menu, timeout: .nan, options: {'1': r}}\n"),
        ["f.yaml:4:28: nodes.m.timeout: expected a number from 0.5 to 60"],
    ),
    "max_digits: .nan": (
        flow("  c: {type: collect, var: n, max_digits: .nan, next: r}\n"),
        ["f.yaml:4:42: nodes.c.max_digits: expected a whole number from 1 to 32"],
    ),
    "a callback within a million minutes": (
        flow("  c: {type: callback, within: 1000000, queue: q, class: k, next: r}\n"),
        ["f.yaml:4:31: nodes.c.within: expected a number from 1 to 10080"],
    ),
    "fullwidth digits as a line number": (
        {"lines.yaml": LINES.replace("'100'", "'１００'")},
        ["lines.yaml:3:14: lines[0].number: expected the dialled digits, got '１００'"],
    ),
    "fullwidth digits as a DTMF key": (
        flow("  m: {type: menu, options: {'１': r}}\n"),
        ["f.yaml:4:29: nodes.m.options.１: not a DTMF key (0-9 * #)"],
    ),
    "fullwidth digits in opening hours": (
        {"calendar.yaml": CALENDAR.replace('"08:00-22:00"', '"０８:００-22:00"')},
        ["calendar.yaml:4:24: schedules.operators.mon-sat: '０８:００' is not a time (HH:MM)"],
    ),
    "a lone surrogate and a line break in a key are shown escaped": (
        flow('  "p\\ud800\\n": {type: play, next: x}\n'),
        ["f.yaml:4:35: nodes.p\\ud800\\n.next: unknown node 'x'"],
    ),
    "a broken language list does not cascade either": (
        {"prompts.yaml": PROMPTS.replace("[uk, en]", "uk, en")},
        ["prompts.yaml:1:12: languages: expected a list of language codes, e.g. [uk, ru, en]"],
    ),
}


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in {**GOOD, **files}.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def problems(directory: Path, **names: list[str]) -> list[str]:
    return [
        str(p).replace(f"{directory}/", "")
        for p in validate_library(directory, names.get("queues"), names.get("classes")).problems
    ]


def test_the_good_directory_is_clean(tmp_path: Path) -> None:
    assert problems(write(tmp_path, {})) == []


@pytest.mark.parametrize(("files", "expected"), CORPUS.values(), ids=CORPUS.keys())
def test_broken_flows_report_their_exact_problems(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    directory = write(tmp_path, files)
    assert problems(directory) == expected
    with pytest.raises(FlowError):
        load_library(directory)


def test_unknown_queue_and_class_when_queues_are_given(tmp_path: Path) -> None:
    directory = write(tmp_path, {})
    assert problems(directory, queues=["internet"], classes=["existing_service"]) == []
    assert problems(directory, queues=["tv", "extra"], classes=["new_connection"]) == [
        "f.yaml:4:27: nodes.r.queue: unknown queue 'internet' (not in queues.yaml: extra, tv)",
        "f.yaml:4:44: nodes.r.class: unknown class 'existing_service' "
        "(not in queues.yaml caller_classes: new_connection)",
    ]


def test_a_callbacks_queue_is_checked_too(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        flow("  c: {type: callback, queue: billing, class: existing_service, next: r}\n"),
    )
    assert problems(directory, queues=["internet"], classes=["existing_service"]) == [
        "f.yaml:4:30: nodes.c.queue: unknown queue 'billing' (not in queues.yaml: internet)"
    ]


def test_every_broken_file_is_reported_in_one_pass(tmp_path: Path) -> None:
    files = {
        "calendar.yaml": "timezone: Mars/Olympus\n",
        **flow("  p: {type: play, prompt: nope, next: r}\n"),
        "g.yaml": "name: g\nstart: x\nnodes:\n  h: {type: hangup}\n",
    }
    assert problems(write(tmp_path, files)) == [
        "calendar.yaml:1:11: timezone: unknown time zone 'Mars/Olympus' (e.g. Europe/Kyiv)",
        "f.yaml:4:27: nodes.p.prompt: unknown prompt 'nope' (not in prompts.yaml: beep, hello)",
        "g.yaml:2:8: start: 'x' is not a node",
    ]


def test_warnings_alone_do_not_reject_the_library(tmp_path: Path) -> None:
    files = {
        "prompts.yaml": PROMPTS + "  bye: {uk: Бувай}\n",
        "f.yaml": FLOW + "  lost: {type: hangup}\n",
    }
    directory = write(tmp_path, files)
    warnings: list[str] = []
    library = load_library(directory, warn=warnings.append)
    assert [w.replace(f"{directory}/", "") for w in warnings] == [
        "prompts.yaml:5:3: warning: prompts.bye: no en version: those callers hear the uk one",
        "f.yaml:5:3: warning: nodes.lost: unreachable from start",
    ]
    assert set(library.flows["f"].nodes) == {"r", "lost"}


def test_a_flow_saved_in_a_windows_code_page(tmp_path: Path) -> None:
    directory = write(tmp_path, {})
    (directory / "g.yaml").write_bytes(
        "name: g\nstart: h\nnodes:\n  h: {type: hangup, prompt: {say: Бувай}}\n".encode("cp1251")
    )
    assert problems(directory) == ["g.yaml:4:35: not UTF-8 text: save the file as UTF-8"]

"""Prompts: the version a caller hears, {placeholders}, prompts.yaml problems, inline
prompts in a node."""

from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.calls.simulate import ScriptedCaller, TextSpeech
from ivr.flow.context import CallInfo, FlowServices
from ivr.flow.loader import load_library, validate_library
from ivr.flow.prompts import (
    EMPTY_CATALOG,
    Prompt,
    PromptCatalog,
    Sound,
    Text,
    fill,
    parse_catalog,
    parse_variant,
    parse_versions,
    placeholders,
)
from ivr.flow.runner import new_context, run_flow
from ivr.yamlfiles.problems import Problems, load_located
from tests.unit.fakes import NobodyKnown

UK, RU, EN = Text("Привіт"), Text("Привет"), Text("Hello")

# --- pick: caller's language -> default -> "" (any) -> first ---------------------------


def test_pick_the_callers_language() -> None:
    prompt = Prompt({"uk": UK, "ru": RU, "en": EN})
    assert prompt.pick("en", "uk") == ("en", EN)
    assert prompt.pick("ru", "uk") == ("ru", RU)


def test_pick_falls_back_to_the_default_language() -> None:
    assert Prompt({"en": EN, "uk": UK}).pick("ru", "uk") == ("uk", UK)


def test_pick_falls_back_to_the_any_language_version_before_the_first() -> None:
    any_version = Sound("custom/hello")
    prompt = Prompt({"en": EN, "": any_version})
    assert prompt.pick("ru", "uk") == ("uk", any_version)  # said in the default language
    assert prompt.pick("en", "uk") == ("en", EN)


def test_pick_falls_back_to_the_first_version() -> None:
    assert Prompt({"ru": RU, "en": EN}).pick("de", "uk") == ("ru", RU)


def test_the_default_language_wins_over_any_language() -> None:
    assert Prompt({"": Sound("x"), "uk": UK}).pick("en", "uk") == ("uk", UK)


# --- placeholders and fill ---------------------------------------------------------------


def test_placeholders() -> None:
    assert placeholders("Hello, {name}! Reading {reading}, {name}.") == ["name", "reading", "name"]
    assert placeholders("no fields, {{braces}}") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "Single '{' encountered in format string"),
        ("a {b", "expected '}' before end of string"),
        ("}", "Single '}' encountered in format string"),
        ("{}", "{} is not a variable name (write {{ }} for braces)"),
        ("{0}", "{0} is not a variable name (write {{ }} for braces)"),
        ("{a.b}", "{a.b} is not a variable name (write {{ }} for braces)"),
        ("{a[0]}", "{a[0]} is not a variable name (write {{ }} for braces)"),
        ("{a!r}", "{a!r} is not a variable name (write {{ }} for braces)"),
        ("{a:>5}", "{a:>5} is not a variable name (write {{ }} for braces)"),
    ],
)
def test_malformed_placeholders(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        placeholders(text)
    assert str(info.value) == message


def test_fill() -> None:
    values = {"name": "Олена", "reading": "00451"}
    assert fill("{name}: {reading} ({missing})", values) == "Олена: 00451 ()"
    assert fill("{{name}} {name}", values) == "{name} Олена"
    assert fill("plain", {}) == "plain"


# --- variants and versions ---------------------------------------------------------------


def test_parse_variant() -> None:
    assert parse_variant("Hello {name}") == Text("Hello {name}")
    assert parse_variant({"sound": "custom/hi"}) == Sound("custom/hi")


@pytest.mark.parametrize(
    "value", ["", "   ", None, 5, ["a"], {"sound": 5}, {"sound": "a", "say": "b"}]
)
def test_parse_variant_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"expected text to say or \{sound: name\}"):
        parse_variant(value)


def test_parse_versions() -> None:
    assert parse_versions({"sound": "beep"}) == {"": Sound("beep")}
    assert parse_versions({"uk": "Так", "en": {"sound": "yes"}}) == {
        "uk": Text("Так"),
        "en": Sound("yes"),
    }
    with pytest.raises(ValueError, match=r"expected \{sound: name\} or a mapping of language"):
        parse_versions("just text")
    with pytest.raises(ValueError, match=r"expected \{sound: name\} or a mapping of language"):
        parse_versions({})


# --- prompts.yaml ------------------------------------------------------------------------


def catalog(text: str) -> tuple[PromptCatalog, list[str]]:
    problems = Problems("prompts.yaml", load_located(text))
    assert problems.located is not None
    return parse_catalog(problems.located.data, problems), [str(p) for p in problems.items]


def test_a_good_catalogue() -> None:
    result, found = catalog(
        "languages: [uk, ru, en]\ndefault_language: ru\nprompts:\n"
        "  beep: {sound: beep}\n  hi: {uk: Привіт, ru: Привет, en: Hello}\n"
    )
    assert found == []
    assert (result.languages, result.default_language) == (("uk", "ru", "en"), "ru")
    assert result.prompts["hi"] == Prompt({"uk": UK, "ru": RU, "en": EN}, "hi")
    assert result.prompts["beep"].variants == {"": Sound("beep")}


def test_the_default_language_defaults_to_the_first() -> None:
    result, _ = catalog("languages: [en, uk]\nprompts: {}\n")
    assert result.default_language == "en"


def test_a_missing_language_is_a_warning_naming_the_fallback() -> None:
    _, found = catalog("languages: [uk, ru, en]\nprompts:\n  bye: {uk: Бувай, en: Bye}\n")
    assert found == [
        "prompts.yaml:3:3: warning: prompts.bye: no ru version: those callers hear the uk one"
    ]


def test_the_warning_names_the_first_version_when_the_default_is_missing() -> None:
    _, found = catalog("languages: [uk, ru, en]\nprompts:\n  bye: {en: Bye}\n")
    assert found == [
        "prompts.yaml:3:3: warning: prompts.bye: no uk, ru version: those callers hear the en one"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "languages: [uk, en]\nprompts:\n  hi: {uk: Привіт, ua: Привіт, en: Hi}\n",
            ["prompts.yaml:3:20: prompts.hi.ua: 'ua' is not in languages ['uk', 'en']"],
        ),
        (
            "languages: [uk]\ndefault_language: en\nprompts: {}\n",
            ["prompts.yaml:2:19: default_language: 'en' is not in languages ['uk']"],
        ),
        (
            "languages: [uk]\nprompts:\n  hi: Привіт\n",
            [
                "prompts.yaml:3:7: prompts.hi: expected {sound: name} or a mapping of language to "
                "text"
            ],
        ),
        (
            "languages: [uk]\nprompts:\n  hi: {uk: 'Привіт, {name'}\n",
            ["prompts.yaml:3:7: prompts.hi: expected '}' before end of string"],
        ),
        (
            "languages: [uk]\nprompts:\n  hi: {uk: ''}\n",
            ["prompts.yaml:3:7: prompts.hi: expected text to say or {sound: name}"],
        ),
        (
            "languages: [uk]\nprompts: [hi]\n",
            ["prompts.yaml:2:10: prompts: expected a mapping of prompt name to its versions"],
        ),
        (
            "languages: [uk]\nlanguage: uk\n",
            [
                "prompts.yaml:2:1: language: unknown key (expected: default_language, languages, "
                "prompts)"
            ],
        ),
        (
            "[uk, en]\n",
            ["prompts.yaml:1:1: expected a mapping with languages, default_language and prompts"],
        ),
    ],
)
def test_catalogue_problems(text: str, expected: list[str]) -> None:
    assert catalog(text)[1] == expected


@pytest.mark.parametrize("languages", ["uk, ru", "[]", "[uk, '']", "[uk, 3]"])
def test_a_broken_language_list_is_one_error_not_one_per_prompt(languages: str) -> None:
    _, found = catalog(
        f"languages: {languages}\ndefault_language: uk\nprompts:\n"
        "  a: {uk: А, ru: А}\n  b: {uk: Б}\n"
    )
    assert found == [
        "prompts.yaml:1:12: languages: expected a list of language codes, e.g. [uk, ru, en]"
    ]


def test_a_broken_prompt_is_left_out_and_the_others_kept() -> None:
    result, found = catalog("languages: [uk]\nprompts:\n  a: {uk: А}\n  b: 5\n  c: {uk: В}\n")
    assert len(found) == 1
    assert set(result.prompts) == {"a", "c"}


def test_empty_catalog() -> None:
    assert (EMPTY_CATALOG.languages, EMPTY_CATALOG.default_language) == (("en",), "en")


# --- inline prompts in a node ------------------------------------------------------------


def write_flows(tmp_path: Path, play: str, language: str = "en") -> Path:
    (tmp_path / "prompts.yaml").write_text(
        "languages: [uk, en]\nprompts:\n  beep: {sound: beep}\n", encoding="utf-8"
    )
    (tmp_path / "f.yaml").write_text(
        f"name: f\nstart: p\nnodes:\n  p: {play}\n  h: {{type: hangup}}\n", encoding="utf-8"
    )
    (tmp_path / "lines.yaml").write_text(
        "default_flow: f\nlines:\n"
        f"  - {{number: '100', sphere: service, city: Kyiv, flow: f, language: {language}}}\n",
        encoding="utf-8",
    )
    return tmp_path


async def heard(directory: Path, caller: str = "0441") -> list[str]:
    library = load_library(directory)
    port = ScriptedCaller(deque())
    services = FlowServices(NobodyKnown(), TextSpeech(), lambda _: None, lambda: datetime.now(UTC))
    call = CallInfo("c", "100", caller, library.lines["100"])
    await run_flow(new_context(library, call, port, services))
    return port.heard


async def test_inline_say_in_languages_sound_and_catalogue_prompts(tmp_path: Path) -> None:
    play = (
        "{type: play, next: h, prompt: [{say: {uk: 'Дзвінок з {caller}', en: 'Call from "
        "{caller}'}}, {sound: custom/jingle}, beep, {say: 'in {city}'}]}"
    )
    assert await heard(write_flows(tmp_path, play)) == [
        "say[en]: Call from 0441",
        "custom/jingle",
        "beep",
        "say[uk]: in Kyiv",  # no language given: the default language speaks it
    ]


async def test_inline_say_falls_back_to_the_default_language(tmp_path: Path) -> None:
    play = "{type: play, next: h, prompt: {say: {uk: Так, en: 'Yes'}}}"
    assert await heard(write_flows(tmp_path, play, language="uk")) == ["say[uk]: Так"]


@pytest.mark.parametrize(
    ("play", "expected"),
    [
        (
            "{type: play, next: h, prompt: {say: 'Hi {'}}",
            "f.yaml:4:36: nodes.p.prompt[0]: Single '{' encountered in format string",
        ),
        (
            "{type: play, next: h, prompt: [beep, {say: ''}]}",
            "f.yaml:4:43: nodes.p.prompt[1]: expected text to say or {sound: name}",
        ),
        (
            "{type: play, next: h, prompt: [beep, {say: {uk: Так, ua: Так}}]}",
            "f.yaml:4:63: nodes.p.prompt[1].say.ua: unknown language 'ua' (not in prompts.yaml "
            "languages: en, uk)",
        ),
        (
            "{type: play, next: h, prompt: {say: {de: Ja}}}",
            "f.yaml:4:47: nodes.p.prompt.say.de: unknown language 'de' (not in prompts.yaml "
            "languages: en, uk)",
        ),
        (
            "{type: play, next: h, prompt: [beep, bop]}",
            "f.yaml:4:36: nodes.p.prompt: unknown prompt 'bop' (not in prompts.yaml: beep)",
        ),
    ],
)
def test_inline_prompt_problems(tmp_path: Path, play: str, expected: str) -> None:
    found = [
        str(p).replace(f"{tmp_path}/", "")
        for p in validate_library(write_flows(tmp_path, play)).problems
    ]
    assert found == [expected]

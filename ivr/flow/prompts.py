"""Prompts: named in flows/prompts.yaml, in several languages, recorded or spoken.

A prompt is an Asterisk sound (`sound: name`, played as is) or text that espeak-ng speaks
(`say`). Text may hold `{var}` placeholders, filled from the call's variables when played.
A caller's language falls back to the catalogue's default language, then to any version.
"""

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.yamlfiles.problems import Problems

PROMPTS_FILE = "prompts.yaml"
ANY_LANGUAGE = ""  # the version of a prompt that serves every language


@dataclass(frozen=True)
class Sound:
    name: str


@dataclass(frozen=True)
class Text:
    text: str


Variant = Sound | Text


@dataclass(frozen=True)
class Prompt:
    """Versions by language ("" = any). Inline prompts in a node have no name."""

    variants: Mapping[str, Variant]
    name: str = ""

    def pick(self, language: str, default_language: str) -> tuple[str, Variant]:
        """The version to play and the language it is in."""
        for lang in (language, default_language):
            if lang in self.variants:
                return lang, self.variants[lang]
        if ANY_LANGUAGE in self.variants:
            return default_language, self.variants[ANY_LANGUAGE]
        lang = next(iter(self.variants))
        return lang, self.variants[lang]


PromptRef = str | Prompt  # a catalogue name, or an inline prompt


@dataclass(frozen=True)
class PromptCatalog:
    languages: tuple[str, ...]
    default_language: str
    prompts: Mapping[str, Prompt]


EMPTY_CATALOG = PromptCatalog(("en",), "en", {})


def placeholders(text: str) -> list[str]:
    """The `{name}` fields of a text; ValueError on a malformed one."""
    names = []
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            written = field + (f"!{conversion}" if conversion else "")
            written += f":{spec}" if spec else ""
            raise ValueError(f"{{{written}}} is not a variable name (write {{{{ }}}} for braces)")
        names.append(field)
    return names


def fill(text: str, values: Mapping[str, str]) -> str:
    """Text with each `{name}` replaced by its value ("" when the call has none)."""
    return "".join(
        literal + (values.get(field, "") if field is not None else "")
        for literal, field, _, _ in string.Formatter().parse(text)
    )


def parse_variant(value: Any) -> Variant:
    """`text` or `{sound: name}`; ValueError otherwise."""
    if isinstance(value, str) and value.strip():
        placeholders(value)
        return Text(value)
    if isinstance(value, dict) and set(value) == {"sound"} and isinstance(value["sound"], str):
        return Sound(value["sound"])
    raise ValueError("expected text to say or {sound: name}")


def parse_versions(value: Any) -> dict[str, Variant]:
    """A prompt's versions: `{sound: name}`, or a mapping of language to text/{sound: name}."""
    if isinstance(value, dict) and set(value) == {"sound"}:
        return {ANY_LANGUAGE: parse_variant(value)}
    if not isinstance(value, dict) or not value:
        raise ValueError("expected {sound: name} or a mapping of language to text")
    return {str(lang): parse_variant(v) for lang, v in value.items()}


def parse_catalog(data: Any, problems: Problems) -> PromptCatalog:
    """prompts.yaml: languages, default_language and the named prompts."""
    if not isinstance(data, dict):
        problems.add((), "expected a mapping with languages, default_language and prompts")
        return EMPTY_CATALOG
    for key in sorted(
        str(k) for k in data if k not in {"languages", "default_language", "prompts"}
    ):
        problems.add(
            (key,), "unknown key (expected: default_language, languages, prompts)", at_key=True
        )
    raw_languages = data.get("languages")
    # With no usable language list, the languages used below are not checked against it
    # (one error, not one per prompt).
    known = (
        isinstance(raw_languages, list)
        and bool(raw_languages)
        and all(isinstance(x, str) and x for x in raw_languages)
    )
    languages = [str(x) for x in raw_languages] if known and raw_languages else ["en"]
    if not known:
        problems.add(("languages",), "expected a list of language codes, e.g. [uk, ru, en]")
    default = data.get("default_language", languages[0])
    if default not in languages:
        if known:
            problems.add(("default_language",), f"{default!r} is not in languages {languages}")
        default = languages[0]
    prompts: dict[str, Prompt] = {}
    raw = data.get("prompts") or {}
    if not isinstance(raw, dict):
        problems.add(("prompts",), "expected a mapping of prompt name to its versions")
        raw = {}
    for name, value in raw.items():
        where = ("prompts", str(name))
        try:
            versions = parse_versions(value)
        except ValueError as exc:
            problems.add(where, str(exc))
            continue
        for lang in versions:
            if known and lang != ANY_LANGUAGE and lang not in languages:
                problems.add(
                    (*where, lang), f"{lang!r} is not in languages {languages}", at_key=True
                )
        if known and ANY_LANGUAGE not in versions:
            missing = [lang for lang in languages if lang not in versions]
            if missing:
                fallback = default if default in versions else next(iter(versions))
                problems.add(
                    where,
                    f"no {', '.join(missing)} version: those callers hear the {fallback} one",
                    at_key=True,
                    warning=True,
                )
        prompts[str(name)] = Prompt(versions, str(name))
    return PromptCatalog(tuple(languages), str(default), prompts)

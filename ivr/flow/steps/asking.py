"""Shared by the steps that ask the caller for keys (menu, choose, language, collect): the
keys they share, read once into Asking, their schema, and asking until an entry is valid."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ivr.flow.context import StepContext
from ivr.flow.prompts import PromptRef
from ivr.flow.steps.base import FlowSpecError, Said, number_of, play, sounds
from ivr.flow.steps.schema_parts import Schema, number, prompt

ASKING_KEYS = frozenset({"prompt", "invalid_prompt", "timeout", "retries"})
ASKING_PROMPTS = ("prompt", "invalid_prompt")
DEFAULT_TIMEOUT = 5.0
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 60.0  # seconds to wait for the caller's keys
DEFAULT_RETRIES = 2
MAX_RETRIES = 10
DTMF_KEYS = frozenset("0123456789*#")

ASKING: Mapping[str, Schema] = {
    "prompt": prompt("What the caller hears before pressing keys."),
    "invalid_prompt": prompt("Played after a wrong entry, before asking again."),
    "timeout": number(
        "Seconds to wait for the caller's keys (default 5).", MIN_TIMEOUT, MAX_TIMEOUT
    ),
    "retries": number(
        "How many more times to ask after a timeout or wrong entry (2).",
        0,
        MAX_RETRIES,
        whole=True,
    ),
}


@dataclass(frozen=True)
class Asking:
    prompt: tuple[PromptRef, ...]
    invalid_prompt: tuple[PromptRef, ...]  # heard after a wrong entry
    timeout_ms: int  # to wait for the caller's keys
    attempts: int  # 1 + retries


def read_asking(spec: Mapping[str, Any], said: Said) -> Asking:
    """The asking keys of a node whose prompts (ASKING_PROMPTS) were read into `said`."""
    timeout = number_of(spec, "timeout", DEFAULT_TIMEOUT, minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT)
    retries = int(number_of(spec, "retries", DEFAULT_RETRIES, maximum=MAX_RETRIES, whole=True))
    return Asking(said["prompt"], said["invalid_prompt"], int(timeout * 1000), 1 + retries)


def dtmf_options(spec: Mapping[str, Any], key: str = "options") -> dict[str, str]:
    """`options`: DTMF key -> value; 1 and "1" are the same key."""
    options = spec.get(key)
    if not isinstance(options, dict) or not options:
        raise FlowSpecError((key,), "expected a mapping of DTMF key to node id")
    result: dict[str, str] = {}
    for raw, value in options.items():
        digit = str(raw)
        if digit not in DTMF_KEYS:
            raise FlowSpecError((key, digit), "not a DTMF key (0-9 * #)", at_key=True)
        if digit in result:
            raise FlowSpecError((key, digit), f"DTMF key {digit} is listed twice", at_key=True)
        if not isinstance(value, str) or not value:
            raise FlowSpecError((key, digit), "expected a name")
        result[digit] = value
    return result


async def ask_until_valid(
    ctx: StepContext,
    asking: Asking,
    max_digits: int,
    valid: Callable[[str], bool],
) -> tuple[str | None, Literal["ok", "timeout", "invalid"]]:
    """Ask with `prompt` until `valid` accepts the keys, `retries` more times at most; an
    invalid entry hears `invalid_prompt`. Returns the keys and how it ended."""
    outcome: Literal["timeout", "invalid"] = "timeout"
    for _ in range(asking.attempts):
        prompts = await sounds(ctx, asking.prompt)
        keys = await ctx.port.ask(prompts, asking.timeout_ms, max_digits)
        if keys and valid(keys):
            return keys, "ok"
        outcome = "invalid" if keys else "timeout"
        if keys:
            await play(ctx, asking.invalid_prompt)
    return None, outcome

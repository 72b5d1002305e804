"""The contract every step type implements, and the helpers steps share."""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ivr.flow.context import StepContext
from ivr.flow.prompts import Prompt, PromptRef, Sound, Text, fill, parse_variant, parse_versions

KeyPath = tuple[str | int, ...]
RefKind = Literal["prompt", "schedule", "flow", "language", "queue", "class"]


class FlowSpecError(ValueError):
    """A node's spec is malformed at `key` (a path inside the node); `at_key` when the key
    itself, not its value, is wrong."""

    def __init__(self, key: KeyPath, message: str, *, at_key: bool = False) -> None:
        super().__init__(f"{'.'.join(map(str, key))}: {message}")
        self.key = key
        self.message = message
        self.at_key = at_key


@dataclass(frozen=True)
class Ref:
    """A name a node uses that the loader checks against the rest of the configuration."""

    kind: RefKind
    name: str
    key: KeyPath


@dataclass(frozen=True)
class Checked:
    """What the loader learns from a valid node: where it can go (node ids by key), which
    names it refers to, and whether it ends the flow (route, hangup, another flow)."""

    targets: dict[KeyPath, str] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    exits: bool = False


@dataclass(frozen=True)
class RouteRequest:
    queue: str
    caller_class: str


@dataclass(frozen=True)
class StepResult:
    next: str | None = None
    route: RouteRequest | None = None
    hangup: bool = False
    flow: str | None = None  # go on at the start of this flow


class StepType(Protocol):
    keys: frozenset[str]  # the keys a node of this type may have, `type` included

    def check(self, spec: Mapping[str, Any]) -> Checked:
        """Validate the node; raises FlowSpecError at the first problem."""
        ...

    async def run(self, node_id: str, spec: Mapping[str, Any], ctx: StepContext) -> StepResult: ...


# --- reading a spec ----------------------------------------------------------------------


def prompts_of(spec: Mapping[str, Any], key: str) -> tuple[PromptRef, ...]:
    """A prompt name, {say: ...}, {sound: ...}, or a list of those."""
    value = spec.get(key)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_prompt_item(item, (key, i)) for i, item in enumerate(items))


def _prompt_item(item: Any, where: KeyPath) -> PromptRef:
    if isinstance(item, str) and item:
        return item
    try:
        if isinstance(item, dict) and set(item) == {"say"}:
            say = item["say"]
            versions = parse_versions(say) if isinstance(say, dict) else {"": parse_variant(say)}
            return Prompt(versions)
        if isinstance(item, dict) and set(item) == {"sound"}:
            return Prompt({"": parse_variant(item)})
    except ValueError as exc:
        raise FlowSpecError(where, str(exc)) from None
    raise FlowSpecError(where, "expected a prompt name, {say: text} or {sound: file}")


def prompt_refs(spec: Mapping[str, Any], *keys: str) -> list[Ref]:
    """The catalogue prompts named under `keys`, and the languages of inline {say: ...}."""
    refs = []
    for key in keys:
        listed = isinstance(spec.get(key), list)
        for index, ref in enumerate(prompts_of(spec, key)):
            if isinstance(ref, str):
                refs.append(Ref("prompt", ref, (key,)))
                continue
            where: KeyPath = (key, index, "say") if listed else (key, "say")
            refs += [Ref("language", lang, (*where, lang)) for lang in ref.variants if lang]
    return refs


def target_of(spec: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = spec.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise FlowSpecError((key,), "expected a node id")
    return value


def targets_of(
    spec: Mapping[str, Any], *keys: str, required: tuple[str, ...] = ()
) -> dict[KeyPath, str]:
    """The node ids under `keys` (those in `required` must be present)."""
    found: dict[KeyPath, str] = {}
    for key in keys:
        target = target_of(spec, key, required=key in required)
        if target:
            found[(key,)] = target
    return found


def way_out(spec: Mapping[str, Any], key: str, when: str) -> str:
    """An asking node's required exit: where a caller goes `when` (a node id). Without it
    the caller would fall to the dialplan's fallback queue at priority 0."""
    if spec.get(key) is None:
        raise FlowSpecError(
            (key,),
            f"missing: add `{key}: <node id>`, where a caller goes {when} "
            "(e.g. the node of the default choice; without it he falls to the fallback "
            "queue at priority 0)",
        )
    return str(target_of(spec, key))


def name_of(spec: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value:
        raise FlowSpecError((key,), "expected a name")
    return value


def var_name(spec: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    """The variable named at `key` (a flow names variables, it does not hold values here)."""
    value = spec.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.isidentifier():
        raise FlowSpecError((key,), "expected a variable name (letters, digits, _)")
    return value


def number_of(
    spec: Mapping[str, Any],
    key: str,
    default: float,
    *,
    minimum: float = 0,
    maximum: float,
    whole: bool = False,
) -> float:
    """A number from `minimum` to `maximum` (finite: .inf and .nan are refused)."""
    value = spec.get(key, default)
    kind = "whole number" if whole else "number"
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise FlowSpecError((key,), f"expected a {kind} >= {minimum:g}")
    if not math.isfinite(value) or value > maximum:
        raise FlowSpecError((key,), f"expected a {kind} from {minimum:g} to {maximum:g}")
    if whole and value != int(value):
        raise FlowSpecError((key,), f"expected a whole number >= {minimum:g}")
    return value


# --- playing prompts ---------------------------------------------------------------------


def call_values(ctx: StepContext) -> dict[str, str]:
    """What `{name}` can say in a prompt: the call's variables and facts."""
    line = ctx.call.line
    return {
        "caller": ctx.call.caller,
        "line": ctx.call.number,
        "city": line.city if line else "",
        **ctx.vars,
    }


async def sounds(ctx: StepContext, refs: tuple[PromptRef, ...]) -> tuple[str, ...]:
    """Asterisk sound names for prompts in the caller's language (text rendered by Speech)."""
    catalog = ctx.library.prompts
    out = []
    for ref in refs:
        prompt = catalog.prompts[ref] if isinstance(ref, str) else ref
        language, variant = prompt.pick(ctx.language, catalog.default_language)
        if isinstance(variant, Sound):
            out.append(variant.name)
        else:
            assert isinstance(variant, Text)
            out.append(await ctx.speech.sound_for(fill(variant.text, call_values(ctx)), language))
    return tuple(out)


async def play(ctx: StepContext, spec: Mapping[str, Any], key: str) -> None:
    refs = prompts_of(spec, key)
    if refs:
        await ctx.port.play(await sounds(ctx, refs))


async def ask(
    ctx: StepContext, spec: Mapping[str, Any], key: str, timeout_ms: int, max_digits: int
) -> str | None:
    return await ctx.port.ask(await sounds(ctx, prompts_of(spec, key)), timeout_ms, max_digits)


async def ask_until_valid(
    ctx: StepContext,
    spec: Mapping[str, Any],
    max_digits: int,
    valid: Callable[[str], bool],
) -> tuple[str | None, Literal["ok", "timeout", "invalid"]]:
    """Ask with `prompt` until `valid` accepts the keys, `retries` more times at most; an
    invalid entry hears `invalid_prompt`. Returns the keys and how it ended."""
    timeout_ms = int(timeout_of(spec) * 1000)
    attempts = 1 + retries_of(spec)
    outcome: Literal["timeout", "invalid"] = "timeout"
    for _ in range(attempts):
        keys = await ask(ctx, spec, "prompt", timeout_ms, max_digits)
        if keys and valid(keys):
            return keys, "ok"
        outcome = "invalid" if keys else "timeout"
        if keys:
            await play(ctx, spec, "invalid_prompt")
    return None, outcome


ASKING_KEYS = frozenset({"prompt", "invalid_prompt", "timeout", "retries"})
DEFAULT_TIMEOUT = 5.0
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 60.0  # seconds to wait for the caller's keys
DEFAULT_RETRIES = 2
MAX_RETRIES = 10


def timeout_of(spec: Mapping[str, Any]) -> float:
    return number_of(spec, "timeout", DEFAULT_TIMEOUT, minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT)


def retries_of(spec: Mapping[str, Any]) -> int:
    return int(number_of(spec, "retries", DEFAULT_RETRIES, maximum=MAX_RETRIES, whole=True))


def check_asking(spec: Mapping[str, Any]) -> list[Ref]:
    """Check the keys every asking node shares; the prompt names it uses."""
    prompts_of(spec, "prompt")
    prompts_of(spec, "invalid_prompt")
    timeout_of(spec)
    retries_of(spec)
    return prompt_refs(spec, "prompt", "invalid_prompt")

"""The contract every step type implements, and the helpers steps share."""

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from ivr.flow.context import StepContext
from ivr.flow.prompts import Prompt, PromptRef, Sound, Text, fill, parse_variant, parse_versions
from ivr.flow.steps.schema_parts import StepSchema

KeyPath = tuple[str | int, ...]
RefKind = Literal["prompt", "schedule", "flow", "language", "queue", "class"]
C = TypeVar("C")


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
class Checked(Generic[C]):
    """What the loader learns from a valid node: its config (read once; what `run` gets),
    where it can go (node ids by key), which names it refers to, the prompts it can play
    and whether it ends the flow (route, hangup, another flow)."""

    config: C
    targets: dict[KeyPath, str] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    prompts: tuple[PromptRef, ...] = ()
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


class StepType(ABC, Generic[C]):
    """A node type, all in its module: the keys it takes, read and checked once at load time
    into its frozen config `C`; what it does on a call; its part of the flow JSON Schema;
    how `ivr flow graph` draws it. A new type is such a module and a line in registry.py."""

    keys: frozenset[str]  # the keys a node of this type may have, `type` included
    prompt_keys: tuple[str, ...] = ()  # the keys that hold prompts (read by read_prompts)
    schema: StepSchema  # its node's schema (`ivr flow schema`)
    shape: str = "shape=ellipse"  # its Graphviz node attributes

    @abstractmethod
    def check(self, spec: Mapping[str, Any]) -> Checked[C]:
        """Read and validate the node; raises FlowSpecError at the first problem."""

    @abstractmethod
    async def run(self, node_id: str, config: C, ctx: StepContext) -> StepResult:
        """What the node does on a call, from the config `check` read."""

    @abstractmethod
    def detail(self, config: C) -> list[str]:
        """What the node says or decides, in a few words per line (the graph's label)."""

    def looks(self, config: C) -> str:
        """Graphviz node attributes of this node."""
        return self.shape

    def edge_label(self, config: C, path: KeyPath) -> str:
        """What takes the caller along the target at `path` (a key path in the node): the
        key (a DTMF key, timeout, found...), nothing for a plain next."""
        key = str(path[-1])
        if key in ("next", "node"):
            return ""
        return key.removeprefix("on_")


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


@dataclass(frozen=True)
class Said:
    """A node's prompts by key, read once, and the names in them the loader checks: the
    catalogue prompts and the languages of inline {say: ...}."""

    by_key: Mapping[str, tuple[PromptRef, ...]]
    refs: list[Ref]

    def __getitem__(self, key: str) -> tuple[PromptRef, ...]:
        return self.by_key.get(key, ())

    @property
    def every(self) -> tuple[PromptRef, ...]:
        return tuple(ref for refs in self.by_key.values() for ref in refs)


def read_prompts(spec: Mapping[str, Any], keys: tuple[str, ...]) -> Said:
    """The prompts under `keys`; FlowSpecError at the first malformed one."""
    by_key = {key: prompts_of(spec, key) for key in keys}
    refs = []
    for key, prompts in by_key.items():
        listed = isinstance(spec.get(key), list)
        for index, ref in enumerate(prompts):
            if isinstance(ref, str):
                refs.append(Ref("prompt", ref, (key,)))
                continue
            where: KeyPath = (key, index, "say") if listed else (key, "say")
            refs += [Ref("language", lang, (*where, lang)) for lang in ref.variants if lang]
    return Said(by_key, refs)


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


def required_var(spec: Mapping[str, Any], key: str) -> str:
    """The variable a node needs at `key`."""
    return str(var_name(spec, key, default=""))


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


async def play(ctx: StepContext, prompts: tuple[PromptRef, ...]) -> None:
    if prompts:
        await ctx.port.play(await sounds(ctx, prompts))

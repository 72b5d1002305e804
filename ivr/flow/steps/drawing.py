"""What step types tell `ivr flow graph` about their nodes: Graphviz looks and short texts."""

from typing import Any

from ivr.flow.prompts import PromptRef, Sound

MAX_TEXT = 40  # characters of a detail line before it is cut with "…"

# Graphviz node attributes: asking steps are boxes, decisions diamonds; steps that end the
# flow (route, hangup, goto another flow) are grey, bold terminal shapes.
TERMINAL = 'style="filled,bold", fillcolor="#f2f2f2"'


def short(text: str) -> str:
    """One line of at most MAX_TEXT characters."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def value_text(value: Any) -> str:
    """A value as written in a flow, shortly: yes/no, a|b, k=v."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "|".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items())
    return str(value)


def shown(prompts: tuple[PromptRef, ...]) -> str:
    """Prompts as a node shows them: names, ♪sound or "text" (the first version)."""
    names = []
    for ref in prompts:
        if isinstance(ref, str):
            names.append(ref)
        else:
            variant = next(iter(ref.variants.values()))
            names.append(f"♪{variant.name}" if isinstance(variant, Sound) else f'"{variant.text}"')
    return ", ".join(names)

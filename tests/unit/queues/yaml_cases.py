"""A small valid queues.yaml; the tests break it one way at a time."""

from pathlib import Path

from ivr.queues.model import validate_queues

# line numbers matter: the tests assert file:line:col
BASE = """\
caller_classes:
  vip: {priority: 10}
fallback_queue: a
defaults:
  answer_target: 20
  talk_warning: 240
  talk_guideline: 300
  escalation:
    - {after: 20, raise_priority: 3}
    - {after: 60, overflow: b}
callbacks:
  dial: "PJSIP/{phone}@out"
  accept_key: "1"
agents:
  "1001": {name: Олена, interface: PJSIP/1001, skills: {a: 0, b: 1}}
queues:
  a: {title: A}
  b: {title: B, escalation: []}
"""


def edit(*changes: tuple[str, str]) -> str:
    """BASE with each (old, new) replaced once; `old` must be there."""
    text = BASE
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def problems(directory: Path, text: str) -> list[str]:
    """The problems of `text` saved as queues.yaml, relative to `directory`."""
    path = directory / "queues.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(p).replace(f"{directory}/", "") for p in validate_queues(path)[1]]

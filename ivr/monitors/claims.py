"""Live steps claimed once per call before they run (a ladder step, a talk mark), so that
an engine taking over from another never repeats a step the other already took.

`StepClaims` is what the monitors need: `SoleEngine` for one engine alone (and unit tests),
ivr.ha.claims.SharedClaims keeps them in the database, shared by every engine.
"""

from typing import Protocol


class StepClaims(Protocol):
    async def claim(self, call_id: str, step: str) -> bool: ...  # False: taken already
    async def release(self, call_id: str, step: str) -> None: ...  # it failed: free it


class SoleEngine:
    """One engine alone: its monitors' own bookkeeping already runs each step once."""

    async def claim(self, call_id: str, step: str) -> bool:
        return True

    async def release(self, call_id: str, step: str) -> None:
        return None


def ladder_step(ladder: str, index: int) -> str:
    """A ladder step's claim name: the ladder (the queue first joined) and its index."""
    return f"ladder/{ladder}/{index}"


def talk_mark(level: str) -> str:
    return f"talk/{level}"


def always() -> bool:
    """The gate of a monitor that acts alone (one engine, tests): it always acts."""
    return True

"""What a flow needs from a call: the runner never sees AGI directly."""

from typing import Protocol


class CallPort(Protocol):
    """A call that the dialplan has answered already."""

    async def play(self, prompts: tuple[str, ...]) -> None: ...

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        """Play prompts and collect digits; None when the caller pressed nothing."""
        ...

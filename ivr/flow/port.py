"""What a flow needs from a call: the runner never sees AGI directly."""

from typing import Protocol

from ivr.flow.dtmf import SILENCE


class CallPort(Protocol):
    """A call that the dialplan has answered already."""

    async def play(self, prompts: tuple[str, ...]) -> None: ...

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        """Play prompts and collect digits; None when the caller pressed nothing."""
        ...


class KeyLog:
    """A CallPort passing everything to `port` and noting what each input request got,
    as a `--dtmf` token ("-" for nothing): the keys the journal keeps for a replay."""

    def __init__(self, port: CallPort) -> None:
        self._port = port
        self.tokens: list[str] = []

    async def play(self, prompts: tuple[str, ...]) -> None:
        await self._port.play(prompts)

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        keys = await self._port.ask(prompts, timeout_ms, max_digits)
        self.tokens.append(keys or SILENCE)
        return keys

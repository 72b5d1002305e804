"""The flow's CallPort over an AGI channel: the engine's FastAGI one, or a classic AGI
script's (ivr.offline.agi) when the engine is down."""

from typing import Protocol

DTMF_DIGITS = "0123456789*#"
SILENT_PROMPT = "silence/1"


class KeyChannel(Protocol):
    """The two AGI commands a menu plays and reads keys with."""

    async def stream_file(self, name: str, escape_digits: str = "") -> str: ...

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None: ...


class AgiCallPort:
    def __init__(self, channel: KeyChannel) -> None:
        self._channel = channel

    async def play(self, prompts: tuple[str, ...]) -> None:
        for prompt in prompts:
            await self._channel.stream_file(prompt)

    async def ask(self, prompts: tuple[str, ...], timeout_ms: int, max_digits: int) -> str | None:
        """Leading prompts can be interrupted by a key; the last one waits for the digits."""
        *leading, last = prompts or (SILENT_PROMPT,)
        pressed = ""
        for prompt in leading:
            pressed = await self._channel.stream_file(prompt, escape_digits=DTMF_DIGITS)
            if pressed:
                break
        if pressed and len(pressed) >= max_digits:
            return pressed
        if pressed:
            rest = await self._channel.get_data(
                SILENT_PROMPT, timeout_ms, max_digits - len(pressed)
            )
            return pressed + (rest or "")
        return await self._channel.get_data(last, timeout_ms, max_digits)

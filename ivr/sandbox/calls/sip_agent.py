"""An agent on a real SIP phone: baresip registered to the sandbox as `PJSIP/<id>` with its
generated password, answering each call `answer_after` seconds after it rings and hanging
up `talk` seconds after answering, with what the phone did, in plain words."""

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType

from ivr.config import sandbox_secret_file
from ivr.sandbox.calls.sip.baresip import Phone


class SipAgent:
    """Use as an async context manager: the phone is registered inside it, and hangs up
    each call it answered `talk` seconds later."""

    def __init__(
        self,
        agent_id: str,
        directory: Path,
        sandbox_dir: Path,
        *,
        answer_after: float,
        talk: float,
        sip_port: int,
        rtp_ports: tuple[int, int] = (16100, 16199),
    ) -> None:
        password = sandbox_secret_file(sandbox_dir, f"phone-{agent_id}").read_text().strip()
        self.agent_id, self.talk = agent_id, talk
        self.phone = Phone(
            directory, agent_id, sip_port=sip_port, password=password,
            answer_after=answer_after, rtp_ports=rtp_ports,
        )  # fmt: skip
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "SipAgent":
        await asyncio.to_thread(self.phone.__enter__)
        try:
            await asyncio.to_thread(self.phone.registered)
        except BaseException:
            self.phone.__exit__(None, None, None)
            raise
        self._task = asyncio.create_task(self._hang_up_after_talk())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.phone.__exit__, None, None, None)

    async def _hang_up_after_talk(self) -> None:
        done: set[str] = set()
        for _ in range(30000):  # 20 ms steps: at most ten minutes
            for call in self.phone.calls("established") - done:
                done.add(call)
                asyncio.get_running_loop().call_later(self.talk, self.phone.hangup)
            await asyncio.sleep(0.02)

    def summary(self) -> str:
        """What the phone did with each call: how long it rang, whether it was answered and
        how long the agent talked."""
        events = self.phone.events
        head = f"agent {self.agent_id} on a SIP phone (baresip, PJSIP/{self.agent_id})"
        rang = [e for e in events if e.get("type") == "CALL_INCOMING"]
        if not rang:
            return f"{head}: registered, no call rang"
        parts = []
        for incoming in rang:

            def at(kind: str, call: str = str(incoming["id"])) -> float | None:
                found = [e["time"] for e in events if e.get("type") == kind and e["id"] == call]
                return float(found[0]) if found else None

            answered, closed = at("CALL_ESTABLISHED"), at("CALL_CLOSED")
            if answered is None:
                ended = closed if closed is not None else incoming["time"]
                parts.append(f"rang {ended - incoming['time']:.1f} s, not answered")
                continue
            talked = f"talked {closed - answered:.0f} s" if closed is not None else "in a call"
            parts.append(f"rang {answered - incoming['time']:.1f} s, answered, {talked}")
        return f"{head}: " + "; ".join(parts)

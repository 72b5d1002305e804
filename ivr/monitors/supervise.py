"""Supervisors on live calls: listen, whisper or barge, from their own phone.

The engine rings the supervisor's phone (Originate PJSIP/<phone>); once he answers, his leg
runs ChanSpy on the agent's channel of the call:
- listen (`qEu`): he hears both sides, nobody hears him;
- whisper (`qwEu`): he hears both sides, only the agent hears him;
- barge (`qBEu`): he hears both sides and both hear him.
q: no beep or channel name spoken; E: his leg ends with the agent's; u: the channel name is
exact. His phone shows who the call is with (caller ID: mode, agent and call id).

Each use is first written to the supervision log (who asked, when, which call), then the
phone is rung and CallMonitored is published (AMI UserEvent IvrSupervisorMonitor). A use
that cannot be logged does not happen.
"""

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ivr.events.model import CallMonitored, Event
from ivr.monitors.talk import Talk
from ivr.queues.validate import NAME as PHONE_ID
from ivr.storage.supervision import SupervisionView

log = logging.getLogger(__name__)

SPY_OPTIONS: Mapping[str, str] = {"listen": "qEu", "whisper": "qwEu", "barge": "qBEu"}
MODES = tuple(SPY_OPTIONS)
PHONE_TECH = "PJSIP"  # supervisors' phones are PJSIP endpoints (telephony.yaml phones)
FREE_STATES = ("NOT_INUSE", "UNKNOWN")  # DEVICE_STATE of a phone that may be rung
UNKNOWN_STATES = ("INVALID",)  # no such endpoint


class SpyActions(Protocol):
    async def spy(self, phone: str, channel: str, options: str, caller_id: str) -> None: ...
    async def device_state(self, device: str) -> str: ...


class MonitorRefused(Exception):
    """Why a supervisor cannot join that call with that phone; `status` is the HTTP one."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# Writes one use to the log (the API runs it on its storage gate).
LogUse = Callable[..., Awaitable[SupervisionView]]


@dataclass(frozen=True)
class Request:
    call_id: str
    mode: str
    phone: str
    by: str  # who asks: the API token's role and hash prefix (Principal.who)


class Supervision:
    def __init__(
        self,
        talking: Callable[[], Sequence[Talk]],
        waiting: Callable[[], Collection[str]],
        actions: SpyActions,
        publish: Callable[[Event], None],
        now: Callable[[], datetime],
        standby: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._standby = standby  # why this engine does not see the live calls, if it does not
        self._talking = talking
        self._waiting = waiting
        self._actions = actions
        self._publish = publish
        self._now = now

    def talk(self, call_id: str) -> Talk:
        """The live talk of `call_id`: 404 if there is no such live call, 409 if it is not
        with an agent (yet)."""
        for talk in self._talking():
            if talk.call_id == call_id:
                return talk
        if call_id in self._waiting():
            raise MonitorRefused(409, f"call {call_id}: waiting in a queue, not with an agent")
        standby = self._standby()
        if standby is not None:
            raise MonitorRefused(409, standby)
        raise MonitorRefused(404, f"call {call_id[:64]!r}: no such live call")

    async def check_phone(self, phone: str) -> str:
        """The phone's device (PJSIP/<phone>) if it may be rung now."""
        if not PHONE_ID.fullmatch(phone):
            raise MonitorRefused(400, "phone: expected a phone id (letters, digits, '_', '-')")
        device = f"{PHONE_TECH}/{phone}"
        try:
            state = await self._actions.device_state(device)
        except Exception as exc:  # AMI down or not answering
            raise MonitorRefused(503, f"Asterisk does not answer, try again: {exc}") from None
        if state in UNKNOWN_STATES:
            raise MonitorRefused(404, f"phone {phone}: no such phone (see telephony.yaml)")
        if state == "UNAVAILABLE":
            raise MonitorRefused(409, f"phone {phone}: unavailable (not registered)")
        if state not in FREE_STATES:
            raise MonitorRefused(409, f"phone {phone}: busy ({state.lower()})")
        return device

    async def start(self, request: Request, log_use: LogUse) -> SupervisionView:
        """Log the use, ring the supervisor's phone into the call, announce it."""
        options = SPY_OPTIONS.get(request.mode)
        if options is None:
            raise MonitorRefused(400, f"mode: expected one of {', '.join(MODES)}")
        talk = self.talk(request.call_id)
        device = await self.check_phone(request.phone)
        use = await log_use(
            at=self._now(),
            by=request.by,
            call_id=talk.call_id,
            agent=talk.agent,
            mode=request.mode,
            phone=request.phone,
        )
        caller_id = _caller_id(request.mode, talk)
        try:
            await self._actions.spy(device, talk.agent_channel, options, caller_id)
        except Exception as exc:  # logged as asked; the phone did not ring
            log.warning("monitor %s: could not ring %s: %s", use.id, device, exc)
            raise MonitorRefused(503, f"Asterisk does not answer, try again: {exc}") from None
        self._publish(
            CallMonitored(use.id, use.call_id, use.agent, use.mode, use.phone, use.by, at=use.at)
        )
        return use


def _caller_id(mode: str, talk: Talk) -> str:
    """What the supervisor's phone shows: `"listen 1001 call 1733.42" <1001>`."""
    name = "".join(c for c in f"{mode} {talk.agent} call {talk.call_id}" if c not in '"<>\\')
    number = talk.agent if PHONE_ID.fullmatch(talk.agent) else "0"
    return f'"{name[:80]}" <{number}>'

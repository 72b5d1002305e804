"""Place a test call through Asterisk and report what happened.

The call is an AMI Originate of `Local/<line>@ivr-inbound`: the ;2 half is the caller as
the line sees it; the ;1 half waits in [ivr-test-caller]. The menu side's AGIExecStart events
go to a KeyPresser, which plays the `--dtmf` tokens into the requests for keys exactly as
`ivr flow simulate` reads them (ivr.flow.dtmf): one token per request, "-" for silence.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ivr.flow.dtmf import KeyPlan
from ivr.sandbox.calls.presser import KeyPresser
from ivr.telephony import names
from ivr.telephony.ami import AmiClient

INBOUND_CONTEXT = "ivr-inbound"
CALLER_CONTEXT = "ivr-test-caller"
KEY_DELAY = 0.3  # seconds from the prompt's start to the first key
KEY_GAP = 0.15  # seconds between the keys of a token


@dataclass
class CallReport:
    line: str
    caller: str
    call_id: str
    prompts_waited: int = 0  # requests for keys (menu, choose, language, collect asks)
    dtmf_sent: list[str] = field(default_factory=list)
    via: str = ""  # "engine" or "fallback"
    self_served: bool = False  # the menu served the caller and ended the call
    path: str = ""
    queue: str = ""
    caller_class: str = ""
    priority: str = ""
    queued_in: str = ""
    fallback_reason: str = ""
    outcome: str = "pending"
    seconds: float = 0.0
    over_sip: bool = False  # a real SIP call over the trunk (ivr.sandbox.calls.sip_call)

    @property
    def ok(self) -> bool:
        return bool(self.queued_in) or self.self_served

    def summary(self) -> str:
        rows = [
            ("line", self.line),
            ("caller", self.caller),
            ("call id", self.call_id),
            ("served by", self.via or "-"),
            ("menu path", self.path or "-"),
            ("dtmf sent", f"{' '.join(self.dtmf_sent) or '-'} ({self.prompts_waited} key prompts)"),
            (
                "route",
                f"{self.queue or '-'} class={self.caller_class or '-'} "
                f"priority={self.priority or '-'}",
            ),
            ("queue joined", self.queued_in or "-"),
            ("outcome", self.outcome),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        if self.fallback_reason:
            rows.insert(4, ("fallback reason", self.fallback_reason))
        return "\n".join(f"{k:>15}: {v}" for k, v in rows)


def _uid(event: Any) -> str:
    return str(event.get("Uniqueid", ""))


Press = Callable[[str, str], Awaitable[None]]  # (channel, keys): the caller presses them


class CallWatcher:
    """One call's menu side (Uniqueid `menu_side`, or set later) followed through the AMI
    events into its CallReport; the keys its KeyPresser chooses go to `press`."""

    def __init__(
        self, report: CallReport, plan: KeyPlan, press: Press, menu_side: str = ""
    ) -> None:
        self.report, self.press, self.menu_side = report, press, menu_side
        self.other_side = ""  # a Local call's caller half: its hangup ends the call too
        self.action_id = ""
        self.presser = KeyPresser(plan)
        report.dtmf_sent = plan.used
        self.done = asyncio.Event()
        self.queued = asyncio.Event()

    async def __call__(self, event: Any) -> None:
        report, name, menu_side = self.report, str(event.get("Event", "")), self.menu_side
        if not menu_side:
            return
        if name == "AGIExecStart" and _uid(event) == menu_side:
            keys = self.presser.on_command(str(event.get("Command", "")))
            report.prompts_waited = self.presser.requests
            if keys:
                await asyncio.sleep(KEY_DELAY)  # a caller presses once the prompt plays
                await self.press(str(event["Channel"]), keys)
        elif name == "UserEvent" and event.get("UserEvent") == names.EVENT_ROUTE:
            if event.get("CallID") == menu_side:
                report.via = "engine"
                report.path = str(event.get("Path", ""))
                report.queue = str(event.get("Queue", ""))
                report.caller_class = str(event.get("Class", ""))
                report.priority = str(event.get("QueuePriority", ""))
        elif name == "UserEvent" and event.get("UserEvent") == names.EVENT_SELF_SERVICE:
            if event.get("CallID") == menu_side:
                report.via, report.self_served = "engine", True
                report.path = str(event.get("Path", ""))
                report.outcome = "served by the menu (self-service), call ended"
        elif name == "UserEvent" and event.get("UserEvent") == names.EVENT_FALLBACK:
            if _uid(event) == menu_side:
                report.via = "fallback"
                report.queue = str(event.get("Queue", ""))
                report.fallback_reason = str(event.get("Reason", ""))
        elif name == "QueueCallerJoin" and _uid(event) == menu_side:
            report.queued_in = str(event.get("Queue", ""))
            self.queued.set()
        elif name == "Hangup" and _uid(event) in (menu_side, self.other_side):
            if report.outcome == "pending":
                report.outcome = f"hung up ({event.get('Cause-txt', '')})"
            self.done.set()
        elif name == "OriginateResponse" and event.get("ActionID") == self.action_id:
            if event.get("Response") == "Failure":
                report.outcome = f"originate failed (reason {event.get('Reason', '?')})"
                self.done.set()

    async def follow(self, talk: float, timeout: float) -> None:
        """Until the caller is queued (then `talk` seconds more, or less if the call ends)
        or the call ends; a call neither queued nor ended after `timeout` is reported so."""
        waiter = asyncio.create_task(self.queued.wait())
        ender = asyncio.create_task(self.done.wait())
        await asyncio.wait({waiter, ender}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        ender.cancel()
        if self.queued.is_set():
            self.report.outcome = "queued"
            if talk > 0:  # stay on the line (an operator may end the call sooner)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.done.wait(), talk)
        elif not self.done.is_set():
            self.report.outcome = f"timed out after {timeout:.0f} s"


async def place_call(
    ami: AmiClient,
    line: str,
    caller: str,
    dtmf: Sequence[str],
    *,
    caller_name: str = "",
    talk: float = 0.0,
    timeout: float = 60.0,
) -> CallReport:
    """Call `line` as `caller`, answer menus with `dtmf` tokens (one per request), stay
    `talk` seconds once queued, then hang up. Needs an AMI user that reads `agi` events."""
    # Asterisk checks new uniqueids by prefix: neither id may be a prefix of the other.
    call_id = f"ivrtest-{uuid.uuid4().hex[:12]}"
    menu_side, caller_side = f"{call_id}-m", f"{call_id}-c"
    report = CallReport(line=line, caller=caller, call_id=menu_side)

    async def press(channel: str, keys: str) -> None:
        for digit in keys:
            await ami.play_dtmf(channel, digit, receive=True)
            await asyncio.sleep(KEY_GAP)

    watcher = CallWatcher(report, KeyPlan(dtmf), press, menu_side)
    watcher.other_side = caller_side
    watcher.action_id = f"{call_id}-originate"  # its OriginateResponse, not another's
    started = time.monotonic()
    ami.on_event("*", watcher)
    try:
        await ami.originate(
            f"Local/{line}@{INBOUND_CONTEXT}/n",
            context=CALLER_CONTEXT,
            exten="hold",
            caller_id=f'"{caller_name}" <{caller}>' if caller_name else caller,
            channel_ids=(caller_side, menu_side),
            timeout_ms=int(timeout * 1000),
            action_id=watcher.action_id,
        )
        await watcher.follow(talk, timeout)
    finally:
        if not watcher.done.is_set():
            # Hangup finds a channel by its uniqueid as well as by its name.
            with contextlib.suppress(Exception):
                await ami.hangup(caller_side)
        ami.off_event("*", watcher)
        report.seconds = time.monotonic() - started
    return report

"""The `inbound` AGI route: run the line's flow, decide the route, hand back to the dialplan."""

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from ivr.calls.menu import run_menu
from ivr.events.model import CallFinishedInMenu, CallRouted, CallStarted
from ivr.events.notifier import Notifier
from ivr.flow.context import CallInfo, FlowServices
from ivr.flow.model import FlowLibrary
from ivr.flow.port import KeyLog
from ivr.flow.runner import new_context
from ivr.queues.model import QueuesConfig
from ivr.telephony import names
from ivr.telephony.agi import AgiChannel
from ivr.telephony.call_port import AgiCallPort

log = logging.getLogger(__name__)


def _call_start(arg: list[str]) -> datetime | None:
    """The call's start the dialplan passes on a retry (IVR_START, epoch seconds), if valid."""
    try:
        value = float(arg[0]) if arg else None
    except ValueError:
        log.warning("retry start %r is not an epoch time: the call starts now", arg[0])
        return None
    if value is None or not 0 < value < 1e11:
        return None
    return datetime.fromtimestamp(value, UTC)


class InboundCall:
    """Handles one FastAGI request from [ivr-inbound]. Config is read per call, so a
    reload never changes a call in progress."""

    def __init__(
        self,
        flows: Callable[[], FlowLibrary],
        queues: Callable[[], QueuesConfig],
        notifier: Notifier,
        services: FlowServices,
    ) -> None:
        self._flows = flows
        self._queues = queues
        self._notifier = notifier
        self._services = services

    async def __call__(self, channel: AgiChannel) -> None:
        number = channel.args[0] if channel.args else channel.extension
        call_id = channel.unique_id
        caller = channel.caller_number
        library, queues = self._flows(), self._queues()  # before any await: a reload now
        # is for the next call.
        started = CallStarted(call_id, number, caller, channel.channel_name)
        if retry_started_at := _call_start(channel.args[1:2]):
            # the dialplan's one more try after an engine died mid-menu: the call's start
            started = replace(started, at=retry_started_at)
        self._notifier.publish(started)
        # The engine answers, not the dialplan: until the menu is ready the caller hears
        # ringing, so no key is pressed into dead air (AGI drops keys between commands).
        await channel.answer()
        line, flow = library.flow_for(number)
        if line is None:
            log.warning("line %s is not in flows/lines.yaml: default flow %s", number, flow.name)
        call = CallInfo(call_id, number, caller, line)
        port = KeyLog(AgiCallPort(channel))
        ctx = new_context(library, call, port, self._services)
        result = await run_menu(ctx, queues)
        outcome, decision = result.outcome, result.decision
        path, keys = ">".join(outcome.path), tuple(port.tokens)
        if decision is None:
            await channel.exec(
                "MSet", f"{names.VAR_MENU_PATH}={path}", f"{names.VAR_STATUS}={names.STATUS_DONE}"
            )
            self._notifier.publish(
                CallFinishedInMenu(call_id, number, caller, outcome.path, keys=keys)
            )
            return
        # Published before the dialplan can see the route: the journal's outbox has it on
        # disk once publish() returns, so an engine killed right after the MSet still has
        # the call it routed.
        self._notifier.publish(
            CallRouted(
                call_id,
                number,
                caller,
                decision.queue,
                decision.caller_class,
                decision.priority,
                outcome.path,
                language=ctx.language,
                subscriber_id=ctx.subscriber.id if ctx.subscriber else None,
                keys=keys,
            )
        )
        # One MSet for the whole route (a round trip per variable costs both sides in a
        # burst); IVR_STATUS comes last, so the dialplan never sees a half-set route.
        await channel.exec(
            "MSet",
            f"{names.VAR_QUEUE}={decision.queue}",
            f"{names.VAR_PRIORITY}={decision.priority}",
            f"{names.VAR_CALLER_CLASS}={decision.caller_class}",
            f"{names.VAR_LANGUAGE}={ctx.language}",
            f"{names.VAR_MENU_PATH}={path}",
            f"{names.VAR_STATUS}={names.STATUS_OK}",
        )

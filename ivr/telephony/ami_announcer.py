"""Announce the engine's decisions to telephony admins as AMI UserEvents.

One listener maps domain events to `UserEvent` actions (the names and fields are in the
README); sending happens in tracked background tasks, never on the caller's path.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping

from ivr.events.model import (
    AnswerTargetMissed,
    CallbackAttempted,
    CallEscalated,
    CallMonitored,
    Event,
    OutageSubsided,
    OutageSuspected,
    TalkLimitReached,
    UnreachableReported,
    WaitPredicted,
)
from ivr.tasks import TaskSet
from ivr.telephony import names

log = logging.getLogger(__name__)

SendUserEvent = Callable[[str, Mapping[str, str]], Awaitable[None]]


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _predicted(event: WaitPredicted) -> dict[str, str]:
    return {
        "CallID": event.call_id,
        "Queue": event.queue,
        "Position": str(event.position),
        "Ready": str(event.ready),
        "Busy": str(event.busy),
        "HandleTime": _seconds(event.handle_time),
        "Predicted": "none" if event.predicted is None else _seconds(event.predicted),
        "Target": _seconds(event.target),
    }


def _outage_event(event: OutageSuspected | OutageSubsided) -> tuple[str, dict[str, str]]:
    key = {"City": event.city, "Line": event.line, "Choice": event.choice}
    if isinstance(event, OutageSubsided):
        return names.EVENT_OUTAGE_SUBSIDED, {**key, "Calls": str(event.calls)}
    return names.EVENT_OUTAGE_SUSPECTED, {
        "AlertID": str(event.alert_id),
        **key,
        "Calls": str(event.calls),
        "Usual": f"{event.usual:.2f}",
        "Window": _seconds(event.window),
    }


def _escalated(event: CallEscalated) -> dict[str, str]:
    return {
        "CallID": event.call_id,
        "Queue": event.queue,
        "Step": event.step,
        "Detail": event.detail,
        "Wait": _seconds(event.wait),
        "Outcome": "failed" if event.failed else "done",
        "Late": _seconds(event.late),
        "Attempt": str(event.attempt),
    }


def user_event(event: Event) -> tuple[str, dict[str, str]] | None:
    """The UserEvent name and fields for a domain event (None: not announced)."""
    match event:
        case AnswerTargetMissed():
            return names.EVENT_TARGET_MISSED, {
                "CallID": event.call_id,
                "Queue": event.queue,
                "Line": event.line,
                "Wait": _seconds(event.wait),
            }
        case WaitPredicted():
            return names.EVENT_WAIT_PREDICTED, _predicted(event)
        case CallEscalated():
            return names.EVENT_ESCALATION, _escalated(event)
        case TalkLimitReached():
            return names.EVENT_TALK_LIMIT, {
                "CallID": event.call_id,
                "Queue": event.queue,
                "Agent": event.agent,
                "AgentChannel": event.agent_channel,
                "Level": event.level,
                "Talk": _seconds(event.talk),
            }
        case UnreachableReported():
            return names.EVENT_UNREACHABLE_REPORT, {
                "CallID": event.call_id,
                "ReportedLine": event.reported_line,
                "ViaLine": event.via_line,
                "Published": event.published,
                "DialledFrom": event.dialled_from,
                "Problem": event.problem,
            }
        case CallbackAttempted():
            return names.EVENT_CALLBACK_OUTCOME, {
                "CallbackID": str(event.callback_id),
                "Phone": event.phone,
                "Attempt": str(event.attempt),
                "Outcome": event.outcome,
                "Final": "yes" if event.final else "no",
            }
        case CallMonitored():
            return names.EVENT_SUPERVISOR_MONITOR, {
                "CallID": event.call_id,
                "Agent": event.agent,
                "Mode": event.mode,
                "Phone": event.phone,
                "By": event.by,
                "MonitorID": str(event.monitor_id),
            }
        case OutageSuspected() | OutageSubsided():
            return _outage_event(event)
    return None


class AmiAnnouncer:
    def __init__(self, send: SendUserEvent, tasks: TaskSet) -> None:
        self._send = send
        self._tasks = tasks

    def __call__(self, event: Event) -> None:
        announced = user_event(event)
        if announced is not None:
            self._tasks.spawn(self._announce(*announced), name=f"announce-{announced[0]}")

    async def _announce(self, name: str, fields: Mapping[str, str]) -> None:
        try:
            await self._send(name, fields)
        except Exception as exc:  # AMI down: the event is still in the journal and the log
            log.warning("could not send UserEvent %s: %s", name, exc)

"""Turn Asterisk's AMI events about the engine's calls into domain events."""

from collections.abc import Mapping

from ivr.events.model import CallEnded, CallFellBack, CallQueued, CallStarted, Event
from ivr.events.notifier import Notifier
from ivr.telephony import names


class AmiEventTranslator:
    """Follows the calls the engine saw (or the dialplan's fallback announced), so the
    journal is not filled with every channel Asterisk has."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._calls: set[str] = set()
        notifier.subscribe(self._learn)

    def _learn(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._calls.add(event.call_id)

    def __call__(self, message: Mapping[str, str]) -> None:
        name = message.get("Event", "")
        uid = message.get("Uniqueid", "")
        if name == "UserEvent" and message.get("UserEvent") == names.EVENT_FALLBACK:
            self._calls.add(uid)
            self._notifier.publish(
                CallFellBack(
                    uid,
                    message.get("Line", ""),
                    message.get("CallerIDNum", ""),
                    message.get("Queue", ""),
                    message.get("Reason", ""),
                )
            )
        elif uid not in self._calls:
            return
        elif name == "QueueCallerJoin":
            position = message.get("Position", "0")
            self._notifier.publish(
                CallQueued(
                    uid, message.get("Queue", ""), int(position) if position.isdigit() else 0
                )
            )
        elif name == "Hangup":
            self._calls.discard(uid)
            self._notifier.publish(CallEnded(uid, message.get("Cause-txt", "")))

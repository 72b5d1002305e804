"""AmiEventTranslator: the AMI events of the engine's own calls become domain events, stamped
by the engine's clock (recorded-style events through the AMI event dispatcher)."""

from ivr.events.model import CallEnded, CallFellBack, CallQueued, CallStarted, Event
from ivr.events.notifier import Notifier
from ivr.telephony import names
from ivr.telephony.ami_translator import AmiEventTranslator
from tests.fake_clock import FakeClock
from tests.unit.monitors.kit import CALLER, PHONE, hangup, join, subscribed, user_event


class Kit:
    def __init__(self) -> None:
        self.notifier = Notifier()
        self.clock = FakeClock()
        self.translator = AmiEventTranslator(self.notifier, self.clock)
        self.ami = subscribed(self.translator)
        self.events: list[Event] = []
        self.notifier.subscribe(self.events.append)


def test_a_call_the_engine_took_is_followed_to_its_hangup() -> None:
    kit = Kit()
    kit.notifier.publish(CallStarted("c1", "5552000", PHONE, CALLER))
    kit.ami(join("c1", "a", position=2))
    kit.ami(hangup("c1"))
    kit.ami(hangup("c1"))  # forgotten after its hangup
    at = kit.clock.wall()
    assert kit.events[1:] == [CallQueued("c1", "a", 2, at), CallEnded("c1", "Normal Clearing", at)]


def test_channels_the_engine_did_not_take_are_not_journalled() -> None:
    kit = Kit()
    kit.ami(join("x1", "a"))
    kit.ami(hangup("x1"))
    assert kit.events == []


def test_a_fallback_call_is_announced_then_followed() -> None:
    kit = Kit()
    kit.ami(user_event(names.EVENT_FALLBACK, "f1", Line="5552000", Queue="a", Reason="engine down"))
    kit.ami(hangup("f1"))
    at = kit.clock.wall()
    assert kit.events == [
        CallFellBack("f1", "5552000", PHONE, "a", "engine down", at),
        CallEnded("f1", "Normal Clearing", at),
    ]

"""AmiEventTranslator: the AMI events of the engine's own calls become domain events, stamped
by the engine's clock (recorded-style events through the AMI event dispatcher)."""

import pytest

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


def test_calls_another_engine_s_menu_ran_are_followed_from_the_dialplan_s_events() -> None:
    """Menus active/active: the owner of the Asterisk journals the queue and the end of a
    call whose menu ran on another engine (IvrRoute), or that the menu served itself."""
    kit = Kit()
    kit.ami(user_event(names.EVENT_ROUTE, "r1", Queue="a", QueuePriority="5"))
    kit.ami(join("r1", "a", position=1))
    kit.ami(user_event(names.EVENT_SELF_SERVICE, "s1", Line="5552000", Path="main:3"))
    kit.ami(hangup("s1"))
    kit.ami(hangup("r1"))
    at = kit.clock.wall()
    assert kit.events == [
        CallQueued("r1", "a", 1, at),
        CallEnded("s1", "Normal Clearing", at),
        CallEnded("r1", "Normal Clearing", at),
    ]


def test_a_standby_learns_no_call_and_the_oldest_are_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notifier, clock = Notifier(), FakeClock()
    standby = AmiEventTranslator(notifier, clock, learn_started=lambda: False)
    notifier.publish(CallStarted("c1", "5552000", PHONE, CALLER))
    assert "c1" not in standby._calls  # its Hangup never comes to a standby
    monkeypatch.setattr("ivr.telephony.ami_translator.KNOWN_CALLS", 2)
    owner = AmiEventTranslator(notifier, clock)
    for call_id in ("c2", "c3", "c4"):
        notifier.publish(CallStarted(call_id, "5552000", PHONE, CALLER))
    assert list(owner._calls) == ["c3", "c4"]
    owner.reset()
    assert not owner._calls

"""AMI events parsed once into typed values and dispatched by type (recorded-style events)."""

from dataclasses import replace

import pytest

from ivr.telephony import names
from ivr.telephony.ami_events import (
    AgentComplete,
    AgentConnect,
    AgentEvent,
    AgentRingNoAnswer,
    AmiEvent,
    AmiEvents,
    Hangup,
    IvrCallbackAccepted,
    IvrCallbackAnswered,
    IvrFallback,
    IvrRoute,
    MemberEvent,
    OriginateResponse,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueMember,
    QueueMemberPause,
    QueueMemberRemoved,
    QueueMemberStatus,
    UserEvent,
    parse,
)
from tests.unit.monitors.kit import (
    AGENT,
    CALLER,
    PHONE,
    abandon,
    complete,
    connect,
    hangup,
    join,
    leave,
    user_event,
)


def test_the_queue_callers_events() -> None:
    assert parse(join("c1", "a", position=3)) == QueueCallerJoin("c1", CALLER, "a", 3, PHONE)
    assert parse(leave("c1", "a")) == QueueCallerLeave("c1", CALLER, "a")
    assert parse(abandon("c1", "a")) == QueueCallerAbandon("c1", CALLER, "a")
    assert parse({**join("c1", "a"), "Position": "x"}) == QueueCallerJoin(
        "c1", CALLER, "a", 0, PHONE
    )


def test_the_agents_events_with_the_ring_time_in_seconds() -> None:
    connected = parse(connect("c1", "a"))
    assert connected == AgentConnect(
        "c1",
        CALLER,
        "a",
        interface="Local/1001@ivr-agents",
        member_name="1001",
        dest_channel=AGENT,
        ring=1.0,
    )
    done = parse(complete("c1", "a", "agent"))
    assert isinstance(done, AgentComplete) and done.reason == "agent"
    no_answer = parse({**connect("c1", "a"), "Event": "AgentRingNoAnswer", "RingTime": "6000"})
    assert isinstance(no_answer, AgentRingNoAnswer) and no_answer.ring == 6.0  # ms
    assert parse({**connect("c1", "a"), "RingTime": "soon"}) == replace(connected, ring=0.0)


def test_a_hangup() -> None:
    assert parse(hangup("c1")) == Hangup("c1", CALLER, "Normal Clearing")


def test_a_member_event_says_only_what_it_carries() -> None:
    pause = parse(
        {
            "Event": "QueueMemberPause",
            "Queue": "a",
            "Interface": "PJSIP/1002",
            "MemberName": "1002",
            "Paused": "1",
            "Reason": "lunch",  # older Asterisk
        }
    )
    assert pause == QueueMemberPause("a", "PJSIP/1002", "1002", paused=True, reason="lunch")
    status = parse(
        {"Event": "QueueMemberStatus", "Interface": "PJSIP/1002", "Status": "2", "InCall": "1"}
    )
    assert status == QueueMemberStatus("", "PJSIP/1002", "", status="2", in_call=True)
    removed = parse({"Event": "QueueMemberRemoved", "Queue": "b", "Interface": "PJSIP/1002"})
    assert removed == QueueMemberRemoved("b", "PJSIP/1002", "")
    # QueueStatus's reply names the interface Location and the member Name
    entry = parse({"Event": "QueueMember", "Queue": "c", "Location": "PJSIP/1002", "Name": "1002"})
    assert entry == QueueMember("c", "PJSIP/1002", "1002")


def test_the_engine_s_user_events() -> None:
    fallback = parse(
        user_event(names.EVENT_FALLBACK, "f1", Line="5552000", Queue="a", Reason="engine down")
    )
    assert fallback == IvrFallback("f1", PHONE, "5552000", "", "a", "engine down")
    accepted = parse(user_event(names.EVENT_CALLBACK_ACCEPTED, "c1", Class="vip"))
    assert accepted == IvrCallbackAccepted("c1", PHONE, "", "vip")
    answered = parse(user_event(names.EVENT_CALLBACK_ANSWERED, "c2", QueuePriority="5"))
    assert answered == IvrCallbackAnswered("c2", PHONE, "", "", priority=5)
    odd = parse(user_event(names.EVENT_CALLBACK_ANSWERED, "c2", QueuePriority="high"))
    assert odd == IvrCallbackAnswered("c2", PHONE, "", "", priority=0)
    route = user_event(names.EVENT_ROUTE, "c1", Queue="a", QueuePriority="10", MenuLanguage="uk")
    assert parse(route) == IvrRoute("c1", PHONE, "", "", queue="a", priority=10, language="uk")
    path = user_event(names.EVENT_ROUTE, "c1", Queue="a", Path="main:1>internet:2")
    assert parse(path) == IvrRoute("c1", PHONE, "", "", queue="a", path="main:1>internet:2")


def test_originate_response() -> None:
    assert parse({"Event": "OriginateResponse", "ActionID": "x", "Reason": "4"}) == (
        OriginateResponse("x", "4")
    )
    assert parse({"Event": "OriginateResponse", "ActionID": "x"}) == OriginateResponse("x", "0")


def test_an_event_nobody_reads_and_a_response_are_not_parsed() -> None:
    assert parse({"Event": "Newchannel", "Uniqueid": "c1"}) is None
    assert parse({"Response": "Success", "ActionID": "1"}) is None


def test_a_repeated_header_is_no_text() -> None:
    message = {**hangup("c1"), "Channel": ["PJSIP/a-1", "PJSIP/b-2"]}
    assert parse(message) == Hangup("c1", "", "Normal Clearing")


class Seen:
    def __init__(self) -> None:
        self.events: list[AmiEvent] = []

    def __call__(self, event: AmiEvent) -> None:
        self.events.append(event)


def test_each_event_is_parsed_once_and_goes_to_the_subscribers_of_its_type() -> None:
    bus = AmiEvents()
    callers, agents, hangups = Seen(), Seen(), Seen()
    bus.subscribe([QueueCallerJoin, AgentConnect], callers)
    bus.subscribe([AgentEvent], agents)  # a base type: every agent event
    bus.subscribe([Hangup], hangups)
    bus(join("c1", "a"))
    bus(connect("c1", "a"))
    bus(hangup("c1"))
    bus(leave("c1", "a"))  # nobody reads it
    assert [type(e) for e in callers.events] == [QueueCallerJoin, AgentConnect]
    assert agents.events == [callers.events[1]]
    assert agents.events[0] is callers.events[1]  # one value for every subscriber
    assert [type(e) for e in hangups.events] == [Hangup]


def test_the_names_to_ask_asterisk_for_come_from_the_subscribed_types() -> None:
    bus = AmiEvents()
    bus.subscribe([QueueCallerJoin, Hangup], Seen())
    bus.subscribe([Hangup, AgentEvent, IvrFallback], Seen())
    bus.subscribe([MemberEvent], Seen())
    bus.subscribe([UserEvent], Seen())
    assert bus.names() == [
        "QueueCallerJoin",
        "Hangup",
        "AgentConnect",
        "AgentRingNoAnswer",
        "AgentComplete",
        "UserEvent",
        "QueueMember",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "QueueMemberStatus",
    ]


def test_a_failing_subscriber_does_not_keep_the_event_from_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = AmiEvents()
    after = Seen()

    def broken(event: AmiEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe([Hangup], broken)
    bus.subscribe([Hangup], after)
    bus(hangup("c1"))
    assert len(after.events) == 1
    assert "AMI event subscriber" in caplog.text and "boom" in caplog.text


def test_a_subscriber_added_after_events_flowed_gets_the_next_ones() -> None:
    bus = AmiEvents()
    early, late = Seen(), Seen()
    bus.subscribe([Hangup], early)
    bus(hangup("c1"))  # the handlers of Hangup are now known
    bus.subscribe([AmiEvent], late)
    bus(hangup("c2"))
    assert [e.call_id for e in early.events] == ["c1", "c2"]  # type: ignore[attr-defined]
    assert [e.call_id for e in late.events] == ["c2"]  # type: ignore[attr-defined]

"""The engine's AMI wiring: the event names it asks Asterisk for come from what its parts
declare they read, and one raw event reaches each of them, parsed once, in order."""

from datetime import UTC, datetime
from pathlib import Path

from ivr.events.model import CallAnswered, CallbackRequested, CallStarted, Event
from ivr.telephony import names
from ivr.telephony.queue_log import QueueLogLine
from tests.unit.monitors.kit import CALLER, PHONE, connect, join, user_event
from tests.web.kit import engine_for_tests


def test_the_engine_asks_for_the_events_its_parts_read(tmp_path: Path) -> None:
    engine = engine_for_tests(tmp_path)
    assert sorted(engine.site.ami_events.names()) == sorted(
        [
            # the translator, the waiting and talk monitors
            "UserEvent",
            "QueueCallerJoin",
            "QueueCallerLeave",
            "QueueCallerAbandon",
            "AgentConnect",
            "AgentComplete",
            "Hangup",
            # the agent board
            "QueueMemberAdded",
            "QueueMemberRemoved",
            "QueueMemberPause",
            "QueueMemberStatus",
            "AgentRingNoAnswer",
            # the callback dialer
            "OriginateResponse",
        ]
    )


async def test_one_event_reaches_every_part_that_reads_it(tmp_path: Path) -> None:
    engine = engine_for_tests(tmp_path)
    published: list[Event] = []
    engine.notifier.subscribe(published.append)
    queue = next(iter(engine.queues.queues))
    engine.notifier.publish(CallStarted("c1", "5552000", PHONE, CALLER))
    # the dialplan's route announcement: the call is an engine's (this one acts on no
    # Asterisk yet: not started)
    engine.site.ami_events(user_event(names.EVENT_ROUTE, "c1", Queue=queue, QueuePriority="5"))
    engine.site.ami_events(join("c1", queue))
    engine.site.ami_events(connect("c1", queue))
    kinds = [type(e).__name__ for e in published]
    assert kinds == ["CallStarted", "CallQueued", "CallAnswered", "AgentRang"]
    [answered] = [e for e in published if isinstance(e, CallAnswered)]
    assert answered.queue == queue
    assert [t.call_id for t in engine.talk.talking()] == ["c1"]
    engine.waiting.close()
    engine.talk.close()


async def test_queue_log_lines_come_from_the_owner_only(tmp_path: Path) -> None:
    engine = engine_for_tests(tmp_path)
    site = engine.site
    lines: list[QueueLogLine] = []
    site.queue_log.put = lines.append  # type: ignore[method-assign]
    route = user_event(names.EVENT_ROUTE, "c1", Queue="tv", QueuePriority="5", Path="menu:2")
    site._owned_event(route)  # standing by (no lease): nothing
    assert lines == []
    site.acting = lambda: True  # type: ignore[method-assign]
    site._owned_event(route)
    assert [(x.event, x.uniqueid, x.data[0]) for x in lines] == [("IVRPATH", "c1", "menu:2")]
    # the site's monitors' events are logged; the same event from elsewhere (a menu) is not
    requested = CallbackRequested("c1", "5552000", PHONE, "", "tv", "vip", datetime.now(UTC))
    engine.notifier.publish(requested)
    assert len(lines) == 1
    site._publish(requested)
    assert [x.data[0] for x in lines] == ["menu:2", "REQUESTED"]
    engine.waiting.close()
    engine.talk.close()

"""AgentBoard: agents' commands go to app_queue over a MemberActions port, and the state is
what app_queue reports back (QueueMember* events, QueueStatus)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

from ivr.events.model import AgentChanged, AgentRang, Event
from ivr.monitors.agents import AgentBoard, AgentError
from ivr.queues.model import QueuesConfig, parse_queues
from ivr.routing.predict import Staffing
from ivr.telephony.ami import AmiActionError
from ivr.telephony.ami_events import AmiEvents
from tests.fake_clock import FakeClock

OLENA = "Local/1001@ivr-agents"
PETRO = "PJSIP/1002"
CONFIG: QueuesConfig = parse_queues(
    {
        "caller_classes": {"vip": {"priority": 10}},
        "fallback_queue": "a",
        "agents": {
            "1001": {"name": "Olena", "interface": OLENA, "skills": {"a": 0, "b": 2}},
            "1002": {"name": "Petro", "interface": PETRO, "skills": {"b": 0}},
            "1003": {"name": "Nobody", "interface": "PJSIP/1003", "skills": {}},
        },
        "queues": {"a": {}, "b": {}, "c": {}},
    }
)


class Members:
    """MemberActions: records the calls; `errors` by (action, queue) raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.errors: dict[tuple[str, str], Exception] = {}
        self.queue_status: list[Mapping[str, str]] = []
        self.state_interfaces: list[str] = []

    def _raise(self, action: str, queue: str) -> None:
        error = self.errors.get((action, queue))
        if error is not None:
            raise error

    async def add_member(
        self,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int,
        paused: bool,
        state_interface: str = "",
    ) -> None:
        self.calls.append(("add", queue, interface, member_name, penalty, paused))
        self.state_interfaces.append(state_interface)
        self._raise("add", queue)

    async def remove_member(self, queue: str, interface: str) -> None:
        self.calls.append(("remove", queue, interface))
        self._raise("remove", queue)

    async def pause_member(self, interface: str, paused: bool, reason: str = "") -> None:
        self.calls.append(("pause", interface, paused, reason))

    async def status(self) -> list[Mapping[str, str]]:
        self.calls.append(("status",))
        return self.queue_status


class Kit:
    def __init__(self) -> None:
        self.members = Members()
        self.events: list[Event] = []
        self.clock = FakeClock()
        self.board = AgentBoard(lambda: CONFIG, self.members, self.events.append, self.clock)
        self.ami = AmiEvents()  # app_queue's events, parsed once, as the engine gets them
        self.ami.subscribe(self.board.AMI_EVENTS, self.board.on_ami)

    def changes(self) -> list[tuple[str, str, str, str]]:
        return [
            (e.agent, e.queue, e.state, e.reason)
            for e in self.events
            if isinstance(e, AgentChanged)
        ]

    def rings(self) -> list[AgentRang]:
        return [e for e in self.events if isinstance(e, AgentRang)]

    async def logged_in(self, agent_id: str = "1001") -> None:
        await self.board.login(agent_id)
        self.members.calls.clear()
        self.events.clear()


@pytest.fixture
def kit() -> Kit:
    return Kit()


def error(message: str) -> AmiActionError:
    return AmiActionError({"Response": "Error", "Message": message})


def member_event(event: str, interface: str = OLENA, **fields: str) -> dict[str, str]:
    """A QueueMember* event as app_queue sends it (Asterisk 13+ field names)."""
    return {
        "Event": event,
        "Privilege": "agent,all",
        "Queue": "a",
        "MemberName": "1001",
        "Interface": interface,
        "StateInterface": interface,
        "Membership": "dynamic",
        "Penalty": "0",
        "CallsTaken": "0",
        "LastCall": "0",
        "LastPause": "0",
        "LoginTime": "1764061200",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
        "Ringinuse": "0",
        "Wrapuptime": "0",
        **fields,
    }


async def test_login_joins_each_skill_queue_at_its_penalty(kit: Kit) -> None:
    assert kit.board.get("1001").state == "logged_out"
    state = await kit.board.login("1001")
    assert kit.members.calls == [
        ("add", "a", OLENA, "1001", 0, False),
        ("add", "b", OLENA, "1001", 2, False),
    ]
    assert (state.id, state.name, state.state, state.queues) == (
        "1001",
        "Olena",
        "ready",
        {"a", "b"},
    )
    assert kit.changes() == [("1001", "a", "ready", "")]
    assert kit.board.has_ready_agent("a") and kit.board.has_ready_agent("b")
    assert not kit.board.has_ready_agent("c")
    view = state.view()
    assert datetime.fromisoformat(str(view.pop("since"))) == kit.board.get("1001").since
    assert view == {
        "id": "1001",
        "name": "Olena",
        "interface": OLENA,
        "state": "ready",
        "paused": False,
        "reason": "",
        "queues": ["a", "b"],
    }


async def test_login_paused_with_a_reason(kit: Kit) -> None:
    state = await kit.board.login("1002", paused=True, reason="training")
    assert kit.members.calls == [
        ("add", "b", PETRO, "1002", 0, True),
        ("pause", PETRO, True, "training"),
    ]
    assert (state.state, state.paused, state.reason) == ("paused", True, "training")
    assert kit.changes()[-1] == ("1002", "", "paused", "training")
    assert not kit.board.has_ready_agent("b")


async def test_login_when_already_a_member(kit: Kit) -> None:
    kit.members.errors[("add", "a")] = error("Unable to add interface: Already there")
    state = await kit.board.login("1001")
    assert state.queues == {"a", "b"}


async def test_login_refused_by_asterisk_raises(kit: Kit) -> None:
    kit.members.errors[("add", "a")] = error("Unable to add interface to queue: No such queue")
    with pytest.raises(AmiActionError, match="No such queue"):
        await kit.board.login("1001")


async def test_login_without_skills_is_refused(kit: Kit) -> None:
    with pytest.raises(AgentError, match="no skills"):
        await kit.board.login("1003")
    assert kit.members.calls == []


@pytest.mark.parametrize("command", ["login", "logout", "pause", "ready", "get"])
async def test_an_unknown_agent_is_an_error(kit: Kit, command: str) -> None:
    with pytest.raises(AgentError, match="unknown agent '9999'"):
        if command == "pause":
            await kit.board.pause("9999", "lunch")
        elif command == "get":
            kit.board.get("9999")
        else:
            await getattr(kit.board, command)("9999")
    assert kit.members.calls == []


@pytest.mark.parametrize("reason", ["", "   "])
async def test_a_pause_needs_a_reason(kit: Kit, reason: str) -> None:
    await kit.logged_in()
    with pytest.raises(AgentError, match="needs a reason"):
        await kit.board.pause("1001", reason)
    assert kit.members.calls == [] and kit.board.get("1001").state == "ready"


@pytest.mark.parametrize("command", ["pause", "ready"])
async def test_pause_and_ready_need_a_login(kit: Kit, command: str) -> None:
    with pytest.raises(AgentError, match="not logged in"):
        if command == "pause":
            await kit.board.pause("1001", "lunch")
        else:
            await kit.board.ready("1001")
    assert kit.members.calls == []


async def test_pause_then_ready(kit: Kit) -> None:
    await kit.logged_in()
    state = await kit.board.pause("1001", "  lunch ")
    assert kit.members.calls == [("pause", OLENA, True, "lunch")]
    assert (state.state, state.reason) == ("paused", "lunch")
    assert not kit.board.has_ready_agent("a")
    state = await kit.board.ready("1001")
    assert kit.members.calls[-1] == ("pause", OLENA, False, "")
    assert (state.state, state.reason) == ("ready", "")
    assert kit.changes() == [("1001", "", "paused", "lunch"), ("1001", "", "ready", "")]


async def test_logout_leaves_every_queue(kit: Kit) -> None:
    await kit.logged_in()
    kit.ami(member_event("QueueMemberAdded", Queue="c"))  # added by hand, too
    kit.members.errors[("remove", "b")] = error("Unable to remove interface: Not there")
    state = await kit.board.logout("1001")
    assert kit.members.calls == [
        ("remove", "a", OLENA),
        ("remove", "b", OLENA),
        ("remove", "c", OLENA),
    ]
    assert state.state == "logged_out" and state.queues == set()
    assert kit.changes()[-1] == ("1001", "c", "logged_out", "")
    assert not kit.board.has_ready_agent("a")


async def test_an_auto_pause_from_app_queue(kit: Kit) -> None:
    await kit.logged_in()
    kit.ami(member_event("QueueMemberPause", Paused="1", PausedReason="Auto-Pause"))
    state = kit.board.get("1001")
    assert (state.state, state.paused, state.reason) == ("paused", True, "Auto-Pause")
    assert kit.changes() == [("1001", "a", "paused", "Auto-Pause")]
    assert not kit.board.has_ready_agent("a")
    kit.ami(member_event("QueueMemberPause", Paused="1", PausedReason="Auto-Pause"))
    assert len(kit.changes()) == 1  # no change, no event
    kit.ami(member_event("QueueMemberPause", Paused="0"))
    assert kit.board.get("1001").state == "ready" and kit.board.get("1001").reason == ""


async def test_an_older_asterisk_pause_reason(kit: Kit) -> None:
    await kit.logged_in()
    message = member_event("QueueMemberPause", Paused="1", Reason="lunch")
    del message["PausedReason"]
    kit.ami(message)
    assert kit.board.get("1001").reason == "lunch"


@pytest.mark.parametrize(
    ("status", "in_call", "state"),
    [
        ("2", "1", "in_call"),
        ("2", "0", "in_call"),
        ("1", "1", "in_call"),  # InCall wins over a stale device state
        ("6", "0", "ringing"),
        ("7", "0", "in_call"),  # talking while a second call rings the phone
        ("8", "0", "in_call"),  # on hold
        ("5", "0", "unavailable"),
        ("1", "0", "ready"),
        ("0", "0", "ready"),  # unknown device state
    ],
)
async def test_the_member_status(kit: Kit, status: str, in_call: str, state: str) -> None:
    await kit.logged_in()
    kit.ami(member_event("QueueMemberStatus", Status=status, InCall=in_call))
    assert kit.board.get("1001").state == state
    assert kit.changes() == ([] if state == "ready" else [("1001", "a", state, "")])
    assert kit.board.has_ready_agent("a") is (state == "ready")
    # a queue whose agent is on a call is still served: a callback at its head is dialled
    assert kit.board.has_agent_on_duty("a") is (state != "unavailable")


async def test_paused_or_logged_out_agents_are_not_on_duty(kit: Kit) -> None:
    await kit.logged_in()
    await kit.board.pause("1001", "lunch")
    assert not kit.board.has_agent_on_duty("a")
    await kit.board.ready("1001")
    assert kit.board.has_agent_on_duty("a")
    await kit.board.logout("1001")
    assert not kit.board.has_agent_on_duty("a")


async def test_an_invalid_device_is_not_ready(kit: Kit) -> None:
    await kit.logged_in()
    kit.ami(member_event("QueueMemberStatus", Status="4"))
    assert kit.board.get("1001").state == "unavailable"
    assert not kit.board.has_ready_agent("a")


async def test_in_call_then_back_to_ready(kit: Kit) -> None:
    await kit.logged_in()
    kit.ami(member_event("QueueMemberStatus", Status="2", InCall="1"))
    kit.ami(member_event("QueueMemberStatus", Status="1", InCall="0"))
    assert [c[2] for c in kit.changes()] == ["in_call", "ready"]


async def test_members_added_and_removed_by_others(kit: Kit) -> None:
    kit.ami(member_event("QueueMemberAdded", PETRO, MemberName="1002", Queue="b"))
    assert kit.board.get("1002").state == "ready" and kit.board.has_ready_agent("b")
    kit.ami(member_event("QueueMemberRemoved", PETRO, MemberName="1002", Queue="b"))
    assert kit.board.get("1002").state == "logged_out"
    assert [c[2] for c in kit.changes()] == ["ready", "logged_out"]
    # a member queues.yaml does not list: known by its member name
    kit.ami(member_event("QueueMemberAdded", "PJSIP/7777", MemberName="guest"))
    assert [a.id for a in kit.board.agents()] == ["1001", "1002", "1003", "guest"]


def queue_status_reply() -> list[Mapping[str, str]]:
    """QueueStatus after app_queue restarted: Olena paused in a and b, Petro ready in c."""
    return [
        {"Event": "QueueParams", "Queue": "a", "Max": "0", "Strategy": "rrmemory", "Calls": "0"},
        {
            "Event": "QueueMember",
            "Queue": "a",
            "Name": "1001",
            "Location": OLENA,
            "StateInterface": OLENA,
            "Membership": "dynamic",
            "Penalty": "0",
            "CallsTaken": "3",
            "InCall": "0",
            "Status": "1",
            "Paused": "1",
            "PausedReason": "lunch",
        },
        {
            "Event": "QueueMember",
            "Queue": "b",
            "Name": "1001",
            "Location": OLENA,
            "StateInterface": OLENA,
            "Membership": "dynamic",
            "Penalty": "2",
            "InCall": "0",
            "Status": "1",
            "Paused": "1",
            "PausedReason": "lunch",
        },
        {"Event": "QueueParams", "Queue": "c", "Max": "0", "Strategy": "rrmemory", "Calls": "1"},
        {
            "Event": "QueueMember",
            "Queue": "c",
            "Name": "1002",
            "Location": PETRO,
            "StateInterface": PETRO,
            "Membership": "dynamic",
            "Penalty": "0",
            "InCall": "0",
            "Status": "1",
            "Paused": "0",
            "PausedReason": "",
        },
        {"Event": "QueueEntry", "Queue": "c", "Position": "1", "Channel": "PJSIP/trunk-1"},
        {"Event": "QueueStatusComplete", "EventList": "Complete", "ListItems": "6"},
    ]


async def test_sync_from_queue_status(kit: Kit) -> None:
    await kit.logged_in("1002")  # in b, but app_queue restarted meanwhile
    kit.members.queue_status = queue_status_reply()
    petro_since = kit.board.get("1002").since
    await kit.clock.advance(60)
    await kit.board.sync()
    assert kit.members.calls == [("status",)]
    olena, petro = kit.board.get("1001"), kit.board.get("1002")
    assert (olena.queues, olena.state, olena.reason) == ({"a", "b"}, "paused", "lunch")
    assert (petro.queues, petro.state) == ({"c"}, "ready")  # no longer in b
    assert not kit.board.has_ready_agent("a")
    assert not kit.board.has_ready_agent("b")
    assert kit.board.has_ready_agent("c")
    # only the net change is published; Petro stayed ready: his time in state goes on
    assert kit.changes() == [("1001", "", "paused", "lunch")]
    assert olena.since == kit.clock.wall()
    assert petro.since == petro_since


async def test_sync_forgets_members_app_queue_no_longer_has(kit: Kit) -> None:
    await kit.logged_in()
    kit.members.queue_status = [{"Event": "QueueStatusComplete", "ListItems": "0"}]
    await kit.board.sync()
    assert kit.board.get("1001").state == "logged_out"
    assert not kit.board.has_ready_agent("a")
    assert kit.changes() == [("1001", "", "logged_out", "")]


async def test_a_failed_sync_changes_nothing(kit: Kit) -> None:
    await kit.logged_in()

    async def broken() -> list[Mapping[str, str]]:
        raise AmiActionError({"Response": "Error", "Message": "timeout"})

    kit.members.status = broken  # type: ignore[method-assign]
    with pytest.raises(AmiActionError):
        await kit.board.sync()
    assert kit.board.get("1001").state == "ready" and kit.changes() == []


def test_agents_lists_every_configured_agent() -> None:
    kit = Kit()
    assert [(a.id, a.name, a.state) for a in kit.board.agents()] == [
        ("1001", "Olena", "logged_out"),
        ("1002", "Petro", "logged_out"),
        ("1003", "Nobody", "logged_out"),
    ]


async def test_ring_events_become_agent_rang_with_seconds(kit: Kit) -> None:
    await kit.board.login("1001")
    kit.ami(
        {
            "Event": "AgentRingNoAnswer",
            "Queue": "a",
            "Interface": OLENA,
            "MemberName": "1001",
            "Uniqueid": "c1",
            "RingTime": "6000",
        }
    )
    kit.ami(
        {
            "Event": "AgentConnect",
            "Queue": "a",
            "Interface": OLENA,
            "MemberName": "1001",
            "Uniqueid": "c1",
            "RingTime": "2",
        }
    )
    rings = [(e.agent, e.queue, e.call_id, e.ring, e.answered) for e in kit.rings()]
    assert rings == [("1001", "a", "c1", 6.0, False), ("1001", "a", "c1", 2.0, True)]


async def test_login_gives_app_queue_the_state_interface() -> None:
    """A Local interface with state_interface: app_queue reads the phone's device state."""
    config = parse_queues(
        {
            "caller_classes": {"vip": {"priority": 10}},
            "fallback_queue": "a",
            "agents": {
                "1001": {
                    "name": "Olena",
                    "interface": OLENA,
                    "state_interface": "PJSIP/1001",
                    "skills": {"a": 0},
                },
                "1002": {"name": "Petro", "interface": PETRO, "skills": {"a": 0}},
            },
            "queues": {"a": {}},
        }
    )
    members = Members()
    board = AgentBoard(lambda: config, members, lambda event: None)
    await board.login("1001")
    await board.login("1002")
    assert members.calls == [
        ("add", "a", OLENA, "1001", 0, False),
        ("add", "a", PETRO, "1002", 0, False),
    ]
    assert members.state_interfaces == ["PJSIP/1001", ""]


async def test_staffing_counts_the_queues_ready_and_busy_agents(kit: Kit) -> None:
    assert kit.board.staffing("a") == Staffing(0, 0)
    await kit.logged_in()
    await kit.board.login("1002", paused=True, reason="training")  # paused: not counted
    assert kit.board.staffing("a") == Staffing(ready=1, busy=0)
    kit.ami(member_event("QueueMemberStatus", InCall="1", Status="2"))
    assert (kit.board.staffing("a"), kit.board.staffing("b")) == (Staffing(0, 1), Staffing(0, 1))
    kit.ami(member_event("QueueMemberStatus", Status="6"))  # ringing
    assert kit.board.staffing("a") == Staffing(0, 1)
    await kit.board.logout("1001")
    assert kit.board.staffing("a") == Staffing(0, 0)

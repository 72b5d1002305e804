"""The live routes over HTTP (aiohttp test server): the dashboard snapshot, the two
Server-Sent Events streams (first events, changes, clients that go), the screen-pop card
with its token and 404, the cap on concurrent streams, and GET /api/queues in its established
shape."""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.model import AgentChanged, CallAnswered, CallEnded, CallRouted
from ivr.monitors.agents import AgentBoard
from ivr.routing.escalation import TARGET
from ivr.storage.directory import StoreDirectory
from ivr.storage.service_level import ServiceLevelRepository
from ivr.tasks import TaskSet
from ivr.web import keys
from ivr.web.app import make_web_app
from ivr.web.limits import RETRY_AFTER, StreamSlots
from ivr.web.live.board import LiveBoard
from ivr.web.routes import live as live_routes
from ivr.web.routes import queues as queue_routes
from ivr.web.screen_pop import ScreenPop
from ivr.web.tokens import Principal, load_tokens, token_entry
from tests.unit.web.kit import (
    LINE,
    Live,
    StillClock,
    agents,
    board,
    config,
    library,
    talk,
    waiter,
)

TOKEN = "agent-1001-token-0001"  # agent 1001's own token
OTHER_AGENT = "agent-1002-token-0002"
SUPERVISOR = "supervisor-token-0003"
TOKENS = load_tokens(
    ",".join(
        token_entry(who, token)
        for who, token in (
            (Principal("agent", "1001"), TOKEN),
            (Principal("agent", "1002"), OTHER_AGENT),
            (Principal("supervisor"), SUPERVISOR),
        )
    )
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_STREAMS = 2


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def live_app(live_board: LiveBoard, pop: ScreenPop, streams: StreamSlots) -> web.Application:
    """The live routes with what they work with."""
    app = make_web_app(live_routes.ROUTES)
    app[keys.TOKENS] = TOKENS
    app[keys.BOARD] = live_board
    app[keys.SCREEN_POP] = pop
    app[keys.STREAMS] = streams
    return app


@dataclass
class Site:
    client: TestClient[web.Request, web.Application]
    live: Live
    board: LiveBoard
    pop: ScreenPop
    streams: StreamSlots


@pytest.fixture
async def site(sessions: sessionmaker[Session], tasks: TaskSet) -> AsyncIterator[Site]:
    live = Live(agents=agents())
    live_board = board(sessions, live, StillClock(), push_every=0.2)
    pop = ScreenPop(StoreDirectory(sessions), lambda: library().lines, tasks)
    streams = StreamSlots(MAX_STREAMS)
    async with TestClient(TestServer(live_app(live_board, pop, streams))) as client:
        yield Site(client, live, live_board, pop, streams)


async def next_event(response: ClientResponse, timeout: float = 3.0) -> tuple[str, Any]:
    """The next Server-Sent Event (name, parsed data); comment lines are skipped."""
    name, data = "message", []
    async with asyncio.timeout(timeout):
        while True:
            line = (await response.content.readline()).decode().rstrip("\r\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif not line and data:
                return name, json.loads("\n".join(data))


async def eventually(check: Any, timeout: float = 3.0) -> None:
    for _ in range(round(timeout / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still not true after {timeout} s")


async def test_streams_over_the_cap_get_503_with_retry_after(site: Site) -> None:
    live = await site.client.get("/api/live")
    events = await site.client.get("/api/agents/1001/events", headers=AUTH)
    await next_event(live)
    await next_event(events)
    assert site.streams.active == MAX_STREAMS
    for path, headers in (("/api/live", {}), ("/api/agents/1002/events", auth(OTHER_AGENT))):
        refused = await site.client.get(path, headers=headers)
        assert refused.status == 503, path
        assert refused.headers["Retry-After"] == str(RETRY_AFTER)
        assert "streams: all 2 live streams are in use" in (await refused.json())["error"]
    dashboard = await site.client.get("/api/dashboard")  # plain requests are not capped here
    assert dashboard.status == 200
    live.close()  # a slot frees when its client goes
    await eventually(lambda: site.streams.active == MAX_STREAMS - 1)
    again = await site.client.get("/api/live")
    assert again.status == 200
    assert (await next_event(again))[0] == "snapshot"
    again.close()
    events.close()
    await eventually(lambda: site.streams.active == 0)


async def test_dashboard_is_the_snapshot(site: Site) -> None:
    site.live.waiters.append(waiter("w1", "internet", joined=100.0))
    response = await site.client.get("/api/dashboard")
    assert response.status == 200
    assert await response.json() == site.board.snapshot()


async def test_live_streams_snapshots_and_lets_go_of_a_client_that_leaves(site: Site) -> None:
    response = await site.client.get("/api/live")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    name, first = await next_event(response)
    assert name == "snapshot" and first == site.board.snapshot()
    assert site.board.subscribers == 1
    site.live.waiters.append(waiter("w1", "internet", joined=100.0))
    site.board.on_event(CallEnded("x", "16"))  # a live change: pushed at once
    name, second = await next_event(response, timeout=0.15)
    assert [w["call_id"] for w in second["waiting"]] == ["w1"]
    name, third = await next_event(response, timeout=0.5)  # nothing changed: push_every
    assert third == second
    response.close()
    await eventually(lambda: site.board.subscribers == 0)


async def test_the_card_needs_a_token_and_a_known_agent(site: Site) -> None:
    assert (await site.client.get("/api/agents/1001/call")).status == 401
    bad = {"Authorization": "Bearer not-a-token-at-all"}
    assert (await site.client.get("/api/agents/1001/call", headers=bad)).status == 401
    unknown = await site.client.get("/api/agents/9999/call", headers=auth(SUPERVISOR))
    assert unknown.status == 404
    assert "unknown agent '9999'" in (await unknown.json())["error"]
    response = await site.client.get("/api/agents/1001/call", headers=AUTH)
    assert await response.json() == {"call": None}


async def test_the_card_is_the_agents_current_call(site: Site) -> None:
    site.pop(CallRouted("c1", LINE, "0501234567", "internet", "vip", 10, ("main:1",)))
    site.pop(CallAnswered("c1", "internet", "1001", "Local/1001@a-1", 4.0, True))
    await eventually(lambda: site.pop.card("1001") is not None)
    body = await (await site.client.get("/api/agents/1001/call", headers=AUTH)).json()
    assert body == {"call": site.pop.card("1001")}
    assert body["call"]["call_id"] == "c1" and body["call"]["line_city"] == "Kyiv"


async def test_agent_events_need_a_token_and_a_known_agent(site: Site) -> None:
    assert (await site.client.get("/api/agents/1001/events")).status == 401
    response = await site.client.get("/api/agents/9999/events", headers=auth(SUPERVISOR))
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/json")


async def test_an_agent_reads_his_own_screen_pop_only(site: Site) -> None:
    site.pop(CallRouted("c2", LINE, "0501234567", "internet", "vip", 10, ("main:1",)))
    site.pop(CallAnswered("c2", "internet", "1002", "Local/1002@a-1", 4.0, True))
    await eventually(lambda: site.pop.card("1002") is not None)
    for path in ("/api/agents/1002/call", "/api/agents/1002/events", "/api/agents/9999/call"):
        response = await site.client.get(path, headers=AUTH)  # agent 1001's token
        assert response.status == 403, path
        assert response.headers["Content-Type"].startswith("application/json"), path
        assert "this token acts for agent 1001 only" in (await response.json())["error"]
        assert "0501234567" not in await response.text()
    assert site.pop.watchers == 0  # the refused stream never watched 1002
    for token in (OTHER_AGENT, SUPERVISOR):  # his own token; a supervisor's
        card = await (await site.client.get("/api/agents/1002/call", headers=auth(token))).json()
        assert card == {"call": site.pop.card("1002")}
        events = await site.client.get("/api/agents/1002/events", headers=auth(token))
        assert await next_event(events) == ("call", site.pop.card("1002"))
        events.close()


async def test_agent_events_send_state_and_card_now_and_on_change(site: Site) -> None:
    response = await site.client.get("/api/agents/1001/events", headers=AUTH)
    assert response.headers["Content-Type"] == "text/event-stream"
    # at connect: the agent's state (no card: he has had no call yet)
    assert await next_event(response) == ("agent", site.board.agent_view("1001"))
    assert site.pop.watchers == 1

    site.pop(CallRouted("c1", LINE, "0501234567", "internet", "vip", 10, ("main:1",)))
    site.pop(CallAnswered("c1", "internet", "1001", "Local/1001@a-1", 4.0, True))
    name, card = await next_event(response)
    assert name == "call" and card == site.pop.card("1001") and card["ended"] is False

    site.live.agents[0].paused = False
    site.live.agents[0].reason = ""
    site.pop(AgentChanged("1001", "internet", "ready"))
    name, view = await next_event(response)
    assert name == "agent" and view["state"] == "ready"

    site.pop(CallEnded("c1", "16"))
    name, card = await next_event(response)
    assert name == "call" and card["call_id"] == "c1" and card["ended"] is True

    site.pop(AgentChanged("1002", "internet", "paused"))  # someone else: nothing sent
    with pytest.raises(TimeoutError):
        await next_event(response, timeout=0.3)
    response.close()
    await eventually(lambda: site.pop.watchers == 0)


async def test_a_reconnecting_agent_gets_his_card_at_once(site: Site) -> None:
    site.pop(CallAnswered("c1", "internet", "1001", "Local/1001@a-1", 4.0, True))
    await eventually(lambda: site.pop.card("1001") is not None)
    response = await site.client.get("/api/agents/1001/events", headers=AUTH)
    assert await next_event(response) == ("call", site.pop.card("1001"))
    assert await next_event(response) == ("agent", site.board.agent_view("1001"))


async def test_stopping_the_server_ends_the_streams(
    sessions: sessionmaker[Session], tasks: TaskSet
) -> None:
    live_board = board(sessions, Live(agents=agents()), StillClock())
    pop = ScreenPop(StoreDirectory(sessions), lambda: library().lines, tasks)
    client = TestClient(TestServer(live_app(live_board, pop, StreamSlots(5))))
    await client.start_server()
    live = await client.get("/api/live")
    events = await client.get("/api/agents/1001/events", headers=AUTH)
    await next_event(live)
    await next_event(events)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.close()  # runs the app's on_shutdown, then waits for the handlers
    assert loop.time() - start < 3
    assert live_board.subscribers == 0 and pop.watchers == 0


# --- GET /api/queues: built from the live board, same JSON as before -------------------


class NoActions:
    async def add_member(self, *_: Any) -> None: ...
    async def remove_member(self, *_: Any) -> None: ...
    async def pause_member(self, *_: Any) -> None: ...
    async def status(self) -> list[Mapping[str, str]]:
        return []


async def test_queues_keep_their_shape(sessions: sessionmaker[Session]) -> None:
    agent_board = AgentBoard(config, NoActions(), lambda _: None)
    await agent_board.login("1001")
    await agent_board.login("1002")
    await agent_board.pause("1002", "lunch")
    live = Live(
        waiters=[
            waiter("w2", "internet", joined=150.0),
            waiter("w1", "internet", joined=100.0, done={TARGET, 0}),
            waiter("gone", "internet", joined=90.0, in_queue=False),
            waiter("b1", "billing", joined=155.5),
        ],
        talks=[talk("t1", "internet"), talk("t2", "internet")],
    )
    live_board = board(sessions, live, StillClock(), agents=agent_board.snapshots)
    app = make_web_app(queue_routes.ROUTES)
    app[keys.LIVE_QUEUES] = live_board.queues_view
    app[keys.SERVICE_LEVEL] = ServiceLevelRepository(sessions)
    async with TestClient(TestServer(app)) as client:
        body = await (await client.get("/api/queues")).json()
    entry = {"line": LINE, "caller_class": "vip", "priority": 10}
    assert body == {
        "queues": {
            "internet": {
                "title": "Internet support",
                "answer_target": 20,
                "waiting": [
                    {"call_id": "w1", **entry, "wait": 60.0, "escalations": 1},
                    {"call_id": "w2", **entry, "wait": 10.0, "escalations": 0},
                ],
                "agents": {"1001": "ready", "1002": "paused"},
                "talking": 2,
            },
            "billing": {
                "title": "Billing",
                "answer_target": 30,
                "waiting": [{"call_id": "b1", **entry, "wait": 4.5, "escalations": 0}],
                "agents": {},
                "talking": 0,
            },
        }
    }

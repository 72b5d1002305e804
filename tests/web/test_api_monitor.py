"""The API for supervisors on live calls, on the real app and supervision log (SQLite and
PostgreSQL); only Asterisk's side (DEVICE_STATE, the Originate) is played by a fake."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.events.model import CallMonitored
from ivr.monitors.supervise import Supervision
from ivr.monitors.talk import Talk
from ivr.storage.gate import StorageGate
from ivr.storage.health import DatabaseState
from ivr.storage.supervision import SupervisionLog
from ivr.web import keys
from ivr.web.tokens import hash_token
from tests.web.kit import ADMIN, AGENT, SUPERVISOR, T0, Kit, auth

Client = TestClient[web.Request, web.Application]
# who asked, as logged: the role and which token (its hash's first digits, as in the list)
BY_SUPERVISOR = f"supervisor sha256:{hash_token(SUPERVISOR)[:8]}"
BY_ADMIN = f"admin sha256:{hash_token(ADMIN)[:8]}"
CALL = "1733500000.42"
AGENT_CHANNEL = "PJSIP/1001-0000002a"


class Asterisk:
    """DEVICE_STATE per device and the spy legs originated (the AMI side only)."""

    def __init__(self) -> None:
        self.states = {"PJSIP/9001": "NOT_INUSE", "PJSIP/9002": "UNAVAILABLE",
                       "PJSIP/9003": "INUSE"}  # fmt: skip
        self.spied: list[tuple[str, str, str, str]] = []
        self.down = False

    async def device_state(self, device: str) -> str:
        if self.down:
            raise ConnectionError("AMI not connected")
        return self.states.get(device, "INVALID")

    async def spy(self, phone: str, channel: str, options: str, caller_id: str) -> None:
        self.spied.append((phone, channel, options, caller_id))


class Rig:
    def __init__(self, kit: Kit) -> None:
        self.asterisk = Asterisk()
        self.talks = [Talk(CALL, "first_line", "1001", AGENT_CHANNEL, "PJSIP/provider-1", 0.0, ())]
        self.waiting = {"1733500000.77"}
        self.log = SupervisionLog(kit.sessions)
        self.published = kit.published
        self.standby: str | None = None  # this engine stands by: why
        self.supervision = Supervision(
            lambda: self.talks,
            lambda: self.waiting,
            self.asterisk,
            kit.publish,
            kit.clock.now,
            standby=lambda: self.standby,
        )
        kit.storage = StorageGate("api", 2, 10.0, DatabaseState())
        self.app = kit.app()
        self.app[keys.SUPERVISION] = self.supervision
        self.app[keys.SUPERVISION_LOG] = self.log


@pytest.fixture
def rig(kit: Kit) -> Rig:
    return Rig(kit)


@pytest.fixture
async def api(rig: Rig) -> AsyncIterator[Client]:
    async with TestClient(TestServer(rig.app)) as client:
        yield client


async def post(
    api: Client, body: Any, token: str = SUPERVISOR, call: str = CALL
) -> tuple[int, Any]:
    response = await api.post(f"/api/calls/{call}/monitor", json=body, headers=auth(token))
    return response.status, await response.json()


@pytest.mark.parametrize(
    ("mode", "options"), [("listen", "qEu"), ("whisper", "qwEu"), ("barge", "qBEu")]
)
async def test_a_supervisor_is_rung_into_the_call_and_it_is_logged(
    rig: Rig, api: Client, mode: str, options: str
) -> None:
    status, body = await post(api, {"mode": mode, "phone": "9001"})
    assert status == 202, body
    use = body["monitor"]
    assert (use["by"], use["call_id"], use["agent"], use["mode"], use["phone"]) == (
        BY_SUPERVISOR, CALL, "1001", mode, "9001",
    )  # fmt: skip
    assert use["at"] == T0.isoformat()
    assert rig.asterisk.spied == [
        ("PJSIP/9001", AGENT_CHANNEL, options, f'"{mode} 1001 call {CALL}" <1001>')
    ]
    [announced] = [e for e in rig.published if isinstance(e, CallMonitored)]
    assert (announced.monitor_id, announced.call_id, announced.mode, announced.by) == (
        use["id"], CALL, mode, BY_SUPERVISOR,
    )  # fmt: skip
    listed = await api.get("/api/monitoring", headers=auth(ADMIN))
    assert (await listed.json())["monitoring"] == [use]


async def test_the_log_lists_newest_first_and_by_call(rig: Rig, api: Client) -> None:
    for mode in ("listen", "whisper"):
        assert (await post(api, {"mode": mode, "phone": "9001"}, ADMIN))[0] == 202
    other = "1733500000.99"
    rig.talks.append(Talk(other, "tv", "1002", "PJSIP/1002-1", "PJSIP/provider-2", 0.0, ()))
    assert (await post(api, {"mode": "barge", "phone": "9001"}, call=other))[0] == 202
    response = await api.get("/api/monitoring", headers=auth(SUPERVISOR))
    rows = (await response.json())["monitoring"]
    assert [(r["mode"], r["by"], r["call_id"]) for r in rows] == [
        ("barge", BY_SUPERVISOR, other), ("whisper", BY_ADMIN, CALL), ("listen", BY_ADMIN, CALL),
    ]  # fmt: skip
    response = await api.get(f"/api/monitoring?call_id={CALL}&limit=1", headers=auth(ADMIN))
    assert [r["mode"] for r in (await response.json())["monitoring"]] == ["whisper"]


@pytest.mark.parametrize(
    ("call", "body", "status", "error"),
    [
        (CALL, {"mode": "spy", "phone": "9001"}, 400, "mode: expected one of listen, whisper"),
        (CALL, {"mode": "listen"}, 400, "phone: required"),
        (CALL, {"mode": "listen", "phone": "9001", "x": 1}, 400, "x"),
        (CALL, {"mode": "listen", "phone": "90 01"}, 400, "phone: expected a phone id"),
        ("1733500000.5", {"mode": "listen", "phone": "9001"}, 404, "no such live call"),
        ("1733500000.77", {"mode": "listen", "phone": "9001"}, 409, "waiting in a queue"),
        (CALL, {"mode": "listen", "phone": "7777"}, 404, "phone 7777: no such phone"),
        (CALL, {"mode": "whisper", "phone": "9002"}, 409, "phone 9002: unavailable"),
        (CALL, {"mode": "barge", "phone": "9003"}, 409, "phone 9003: busy (inuse)"),
    ],
)
async def test_what_cannot_be_done_is_refused_and_not_logged(
    rig: Rig, api: Client, call: str, body: Any, status: int, error: str
) -> None:
    got, answer = await post(api, body, call=call)
    assert got == status, answer
    assert error in answer["error"], answer
    assert rig.asterisk.spied == []
    assert rig.log.recent() == []
    assert not [e for e in rig.published if isinstance(e, CallMonitored)]


async def test_only_supervisors_and_admins_may_listen(rig: Rig, api: Client) -> None:
    body = {"mode": "listen", "phone": "9001"}
    assert (await post(api, body, AGENT))[0] == 403
    response = await api.post(f"/api/calls/{CALL}/monitor", json=body)
    assert response.status == 401
    assert (await api.get("/api/monitoring", headers=auth(AGENT))).status == 403
    assert (await api.get("/api/monitoring")).status == 401
    assert rig.asterisk.spied == [] and rig.log.recent() == []


async def test_asterisk_not_answering_is_503_and_nothing_rings(rig: Rig, api: Client) -> None:
    rig.asterisk.down = True
    status, body = await post(api, {"mode": "listen", "phone": "9001"})
    assert status == 503 and "Asterisk does not answer" in body["error"], body
    assert rig.log.recent() == []


async def test_a_standby_engine_says_which_engine_owns_the_live_calls(
    rig: Rig, api: Client
) -> None:
    note = "this engine stands by for Asterisk ast1: ask the engine that owns its live calls"
    rig.talks.clear()  # a standby's monitors hold no talk
    rig.standby = f"{note} (e1, see /health lease_holder)"
    got, answer = await post(api, {"mode": "listen", "phone": "9001"})
    assert got == 409 and note in answer["error"], answer
    assert rig.asterisk.spied == []

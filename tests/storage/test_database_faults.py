"""PostgreSQL behind a proxy the test controls (tests/faults.py): frozen (open, silent) and
refused. The call path's reads give their defined result within the timeout; the state
follows; the engine's PostgreSQL settings reach the server."""

import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from ivr.storage.db import DbTimeouts, make_engine
from ivr.storage.directory import StoreDirectory
from ivr.storage.gate import GuardedDirectory, StorageGate
from ivr.storage.health import DatabaseState
from tests.storage.conftest import PG_URL
from tests.storage.proxied import ProxiedPg, proxied_pg

__all__ = ["proxied_pg"]

pytestmark = pytest.mark.postgres

CALL_TIMEOUT = 0.5


def test_the_sessions_carry_the_timeouts_and_keepalives(proxied_pg: ProxiedPg) -> None:
    with proxied_pg.engine.connect() as conn:
        shown = {
            name: conn.execute(text(f"SHOW {name}")).scalar_one()
            for name in (
                "statement_timeout",
                "lock_timeout",
                "idle_in_transaction_session_timeout",
                "search_path",
                "tcp_keepalives_idle",
            )
        }
        params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
    assert shown["statement_timeout"] == "15s"
    assert shown["lock_timeout"] == "5s"
    assert shown["idle_in_transaction_session_timeout"] == "1min"
    assert shown["search_path"] == proxied_pg.schema
    assert params["keepalives"] == "1"
    assert params["keepalives_idle"] == "10"
    assert params["tcp_user_timeout"] == "15000"


def test_a_statement_past_the_timeout_is_ended_by_the_server(pg_admin: Engine) -> None:
    engine = make_engine(PG_URL, timeouts=DbTimeouts(statement=0.3))
    started = time.monotonic()
    try:
        with pytest.raises(Exception, match="statement timeout"), engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()
    assert time.monotonic() - started < 2


async def test_call_path_reads_go_on_without_a_frozen_or_refused_database(
    proxied_pg: ProxiedPg,
) -> None:
    store = StoreDirectory(proxied_pg.sessions)
    anna = store.add_subscriber("10000001", "Anna", "Main St 1", "Kyiv", "North", ["380441234567"])
    store.post_outage("Kyiv", "", "Cable cut", starts_at=datetime(2026, 1, 1, tzinfo=UTC))
    state = DatabaseState()
    directory = GuardedDirectory(store, StorageGate("calls", 4, CALL_TIMEOUT, state))
    now = datetime.now(UTC)
    assert await directory.subscriber_by_phone("380441234567") == anna

    for fault in (proxied_pg.proxy.freeze, proxied_pg.proxy.refuse):
        fault()
        for _ in range(10):  # 10 calls, each at most the timeout
            started = time.monotonic()
            assert await directory.subscriber_by_phone("380441234567") is None
            assert await directory.active_outage("Kyiv", "", now) is None
            assert time.monotonic() - started < 2 * CALL_TIMEOUT + 0.3
        assert not state.up

    proxied_pg.proxy.forward()  # the hung reads end; the next calls find the caller again
    started = time.monotonic()
    while await directory.subscriber_by_phone("380441234567") != anna:
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.1)
    outage = await directory.active_outage("Kyiv", "", now)
    assert outage is not None and outage.message == "Cable cut"
    assert state.up


def test_options_given_in_the_url_are_kept_with_the_timeouts(pg_admin: Engine) -> None:
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3Dpg_catalog")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW search_path")).scalar_one() == "pg_catalog"
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "15s"
    finally:
        engine.dispose()

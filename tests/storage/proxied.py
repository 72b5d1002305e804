"""PostgreSQL reached through a TcpProxy the test controls (tests/faults.py)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ivr.storage.db import DbTimeouts, make_engine, make_session_factory, migrate
from tests.faults import TcpProxy
from tests.storage.conftest import PG_URL


@dataclass
class ProxiedPg:
    proxy: TcpProxy
    url: str  # through the proxy
    schema: str
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture
def proxied_pg(pg_admin: Engine) -> Iterator[ProxiedPg]:
    """A fresh migrated schema, reached through a TcpProxy (forwarding at first)."""
    schema = f"ivr_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    migrate(PG_URL, schema)
    upstream = make_url(PG_URL)
    with TcpProxy(upstream.port or 5432, upstream.host or "127.0.0.1") as proxy:
        url = upstream.set(port=proxy.port).render_as_string(hide_password=False)
        engine = make_engine(url, schema, DbTimeouts(connect=2, pool=1))
        try:
            yield ProxiedPg(proxy, url, schema, engine, make_session_factory(engine))
        finally:
            proxy.forward()
            engine.dispose()
    with pg_admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

"""Engines and sessions (gdi_node.db.engine): pooled PostgreSQL connections are pinged only after
being idle, a dead one is replaced before use, and read-only sessions pay no transaction round
trips on PostgreSQL while SQLite keeps plain sessions."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from gdi_node.db import engine as engine_module
from gdi_node.db.engine import (
    make_engine,
    make_read_session_factory,
    make_session_factory,
    ping_after_idle,
)


def _pings(engine: Any) -> list[int]:
    """Count the dialect's pings on ``engine`` (wrapping its ``do_ping``)."""
    calls: list[int] = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        calls.append(1)
        return bool(original(dbapi_connection))

    engine.dialect.do_ping = counting
    return calls


def _pool_of_one(postgres_url: str, *, ping: bool) -> tuple[Engine, list[int]]:
    """An engine with one pooled connection, pinged after 50 ms idle when ``ping``."""
    engine = create_engine(engine_module.normalise_url(postgres_url), pool_size=1)
    if ping:
        ping_after_idle(engine, idle_seconds=0.05)
    return engine, _pings(engine)


def _drop_on_the_server(postgres_url: str, backend_pid: int) -> None:
    admin = create_engine(engine_module.normalise_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend_pid})
    admin.dispose()
    time.sleep(0.1)


def _backend_pid(connection: Any) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_back_moments_ago_is_handed_out_without_a_ping(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        pings = _pings(engine)
        for _ in range(5):
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        assert pings == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("dropped", [False, True], ids=["alive", "dropped-by-the-server"])
def test_an_idle_connection_is_pinged_before_it_is_handed_out(
    postgres_url: str, dropped: bool
) -> None:
    """A live one comes back with no transaction left by the ping (a read session switches
    it to AUTOCOMMIT next); a dead one is replaced before anyone uses it."""
    engine, pings = _pool_of_one(postgres_url, ping=True)
    try:
        with engine.connect() as connection:
            first = _backend_pid(connection)
        if dropped:
            _drop_on_the_server(postgres_url, first)
        else:
            time.sleep(0.1)
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            status = raw.info.transaction_status
            second = _backend_pid(connection)
        assert pings == [1]
        assert status == psycopg.pq.TransactionStatus.IDLE
        assert (second != first) is dropped
    finally:
        engine.dispose()


def test_without_the_idle_ping_a_dead_connection_fails_its_next_query(postgres_url: str) -> None:
    """The case the ping exists for (checked, so the test above cannot pass by accident)."""
    engine, _ = _pool_of_one(postgres_url, ping=False)
    try:
        with engine.connect() as connection:
            first = _backend_pid(connection)
        _drop_on_the_server(postgres_url, first)
        dropped = r"terminat|closed|server"
        with pytest.raises(OperationalError, match=dropped), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def test_read_sessions_on_postgresql_open_no_transaction(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with make_read_session_factory(engine)() as session:
            session.execute(text("SELECT 1"))
            raw = session.connection().connection.driver_connection
            assert raw is not None
            assert raw.autocommit is True
            assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with make_session_factory(engine)() as session:  # writes keep their transactions
            session.execute(text("SELECT 1"))
            raw = session.connection().connection.driver_connection
            assert raw is not None
            assert raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert statements == ["SELECT 1", "SELECT 1"]
    finally:
        engine.dispose()


def test_read_sessions_on_sqlite_are_plain_sessions(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        reads = make_read_session_factory(engine)
        assert reads.kw["bind"] is engine  # no isolation switch (a PRAGMA) per checkout
        with reads() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()

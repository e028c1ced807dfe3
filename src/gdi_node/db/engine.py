"""Create SQLAlchemy engines for the embedded SQLite default and for PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

# Request threads (a2wsgi's pool; anyio's for Beacon and the data endpoint) each hold a
# connection while they work; a pool smaller than that churns: every overflow connection is
# opened, used once and closed, paying the pragmas and an empty page cache each time.
# SQLite connections are cheap and unlimited; a PostgreSQL server allows ~100 per instance in
# all, shared by every worker of every replica.
SQLITE_POOL = (32, 16)
POSTGRES_POOL = (10, 10)
# A PostgreSQL connection back in the pool for longer than this is pinged before it is handed
# out again (the server may have restarted, a firewall may have dropped the idle socket). One
# in steady use is proven by its last query: pinging it on every checkout cost a round trip
# per request. A connection that still fails is invalidated by SQLAlchemy on the error.
IDLE_PING_SECONDS = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # reads through a shared memory map of the file (the OS page cache) instead of copying
    # pages into each connection's private cache
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite the file's folder is created and sane pragmas are set."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 5},
            pool_size=SQLITE_POOL[0],
            max_overflow=SQLITE_POOL[1],
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(
        url,
        connect_args={"connect_timeout": 5},
        pool_size=POSTGRES_POOL[0],
        max_overflow=POSTGRES_POOL[1],
    )
    ping_after_idle(engine)
    return engine


def ping_after_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Check a pooled connection with a round trip when it has been idle for ``idle_seconds``;
    a dead one is replaced before anyone uses it."""

    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("returned_at")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            # psycopg's ping is an empty query: it leaves no transaction open, so a read
            # session can still switch the connection to AUTOCOMMIT after it
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for answers that only read. On PostgreSQL each statement runs on its own
    (AUTOCOMMIT), so a query pays no BEGIN and ROLLBACK round trips; it sees what it saw
    before, as the default READ COMMITTED gives every statement its own snapshot inside a
    transaction too. Python's sqlite3 opens no transaction for a SELECT, and switching its
    isolation level would cost a PRAGMA per checkout: SQLite keeps plain sessions. A write
    through such a session would commit at once: use ``make_session_factory`` for writes."""
    if engine.dialect.name == "sqlite":
        return make_session_factory(engine)
    return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def database_reachable(engine: Engine) -> bool:
    """True when a trivial query succeeds (the node's readiness probe)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not ready"
        return False
    return True


# SQLite result codes (primary, the low byte) that say the database cannot be used right now,
# as opposed to a statement that is wrong (SQLITE_ERROR: no such table, syntax...).
_SQLITE_UNAVAILABLE = frozenset(
    {5, 6, 7, 10, 13, 14, 15}  # BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL
)


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached or used now (a retry may work),
    not that a statement or the data is wrong: a refused or dropped connection, a server
    shutting down or out of connections, a pool that gave none in time, a busy SQLite file."""
    if isinstance(exc, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is None or code & 0xFF in _SQLITE_UNAVAILABLE

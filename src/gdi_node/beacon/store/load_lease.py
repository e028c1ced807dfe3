"""Whether the process loading a callset is still alive (decision record 0014).

A load holds a lease on its callset from the transaction that creates it until it is shown or
discarded; the operating system or the database server drops the lease when the process dies,
even on ``kill -9``. A later load that finds a ``loading`` callset whose lease it can take
knows that load was killed, and removes what it wrote
(gdi_node.beacon.store.callsets.remove_hidden).

- SQLite: an exclusive ``flock`` on ``<database>.loads/<callset id>.lock`` (SQLite needs the
  database on a local file system shared by every process that uses it; so is this folder).
- PostgreSQL: a session-level advisory lock held on a connection of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

LOCK_CLASS = 0x0B0A  # first key of the PostgreSQL advisory locks of loads


class Lease(Protocol):
    def release(self) -> None: ...


class Leases(Protocol):
    def hold(self, callset_id: int) -> Lease:
        """Take the lease of a callset being created (raises if another process holds it)."""

    def hold_all(self, callset_ids: Sequence[int]) -> Lease:
        """The leases of callsets created together (loads written as a group), as one."""

    def is_held(self, callset_id: int) -> bool:
        """Whether a live process holds the lease of ``callset_id``."""


class _Together:
    """Several leases released as one (what was taken is released if taking one fails)."""

    def __init__(self, hold: Callable[[int], Lease], callset_ids: Sequence[int]) -> None:
        self._leases: list[Lease] = []
        try:
            for callset_id in callset_ids:
                self._leases.append(hold(callset_id))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        while self._leases:
            self._leases.pop().release()


def leases_for(engine: Engine) -> Leases:
    if engine.dialect.name == "postgresql":
        return _AdvisoryLeases(engine)
    database = make_url(engine.url).database
    if not database or database == ":memory:":
        return _IN_MEMORY
    return _FileLeases(Path(database).with_name(Path(database).name + ".loads"))


class _FileLease:
    def __init__(self, path: Path, fd: int) -> None:
        self._path, self._fd = path, fd

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self._path.unlink()
        os.close(self._fd)  # closing drops the lock


class _FileLeases:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _lock(self, callset_id: int) -> _FileLease | None:
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{callset_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return _FileLease(path, fd)

    def hold(self, callset_id: int) -> Lease:
        lease = self._lock(callset_id)
        if lease is None:
            raise RuntimeError(f"the load lease of callset {callset_id} is held elsewhere")
        return lease

    def hold_all(self, callset_ids: Sequence[int]) -> Lease:
        return _Together(self.hold, callset_ids)

    def is_held(self, callset_id: int) -> bool:
        lease = self._lock(callset_id)
        if lease is None:
            return True
        lease.release()
        return False


class _AdvisoryLease:
    """Session-level advisory locks (one per callset) on a connection of their own, unlocked
    before it goes back to the pool."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def release(self) -> None:
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
        finally:
            self._connection.close()


class _AdvisoryLeases:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def _try(self, connection: Connection, callset_id: int) -> bool:
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:c, :i)"), {"c": LOCK_CLASS, "i": callset_id}
        ).scalar()
        return bool(taken)

    def hold(self, callset_id: int) -> Lease:
        return self.hold_all([callset_id])

    def hold_all(self, callset_ids: Sequence[int]) -> Lease:
        connection = self._engine.connect()
        for callset_id in callset_ids:
            if not self._try(connection, callset_id):
                _AdvisoryLease(connection).release()  # the locks taken so far
                raise RuntimeError(f"the load lease of callset {callset_id} is held elsewhere")
        return _AdvisoryLease(connection)

    def is_held(self, callset_id: int) -> bool:
        with self._engine.connect() as connection:
            if not self._try(connection, callset_id):
                return True
            connection.execute(
                text("SELECT pg_advisory_unlock(:c, :i)"), {"c": LOCK_CLASS, "i": callset_id}
            )
            return False


class _ProcessLease:
    def __init__(self, held: set[int], callset_id: int) -> None:
        self._held, self._id = held, callset_id

    def release(self) -> None:
        self._held.discard(self._id)


class _ProcessLeases:
    """An in-memory database lives in one process: its loads are known here."""

    def __init__(self) -> None:
        self._held: set[int] = set()

    def hold(self, callset_id: int) -> Lease:
        self._held.add(callset_id)
        return _ProcessLease(self._held, callset_id)

    def hold_all(self, callset_ids: Sequence[int]) -> Lease:
        return _Together(self.hold, callset_ids)

    def is_held(self, callset_id: int) -> bool:
        return callset_id in self._held


_IN_MEMORY = _ProcessLeases()

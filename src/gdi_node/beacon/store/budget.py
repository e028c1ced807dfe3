"""A per-principal query budget weighted by risk, to blunt membership-inference attacks on
the Beacon (Shringarpure & Bustamante 2015; Raisaro et al. 2017): such attacks need many
answers about rare alleles, so those are what the budget prices.

A query is refused (429) when the principal's budget for the window is already spent; after
the answer is built, its cost is spent (so the last query may overshoot by its own cost).
The refusal never depends on the answer of the refused query: a refusal that depended on
whether a rare allele was there would itself reveal it.

Usage is kept in ``beacon_query_budget`` (fixed windows). Each worker adds what it spent to the
table at most every ``flush_seconds`` and rereads a principal's total when its copy is older
than that, so several workers together overshoot by at most what they spend in one interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Executable, Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.settings import QueryBudgetSettings
from gdi_node.db.models import BeaconQueryBudget
from gdi_node.errors import DomainError

_TABLE = cast(Table, BeaconQueryBudget.__table__)


class BudgetExhaustedError(DomainError):
    status = 429
    code = "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class QueryBudget:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: QueryBudgetSettings,
        *,
        clock: Callable[[], float] = time.time,
        flush_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._window = -1
        self._known: dict[str, tuple[int, float]] = {}  # total in the table, when it was read
        self._pending: dict[str, int] = {}  # spent here, not yet in the table
        self._flushed_at = 0.0

    @property
    def config(self) -> QueryBudgetSettings:
        return self._config

    def check(self, principal: str) -> None:
        """Raise BudgetExhaustedError if ``principal`` has spent the window's units."""
        if not self._config.units:
            return
        used = self._used(principal)
        if used >= self._config.units:
            ends = self._window + self._config.window_seconds
            when = datetime.fromtimestamp(ends, UTC).isoformat(timespec="seconds")
            raise BudgetExhaustedError(
                f"query budget exhausted: {used} of {self._config.units} risk units used in this"
                f" window (answers revealing rare alleles cost more); it renews at {when}",
                retry_after=int(ends - self._clock()),
            )

    def spend(self, principal: str, cost: int) -> None:
        if not self._config.units or cost <= 0:
            return
        with self._lock:
            self._roll_window()
            self._pending[principal] = self._pending.get(principal, 0) + cost
        self._flush_if_due()

    def flush(self) -> None:
        """Add pending usage to the table and refresh the totals of those principals."""
        with self._lock:
            pending, self._pending = self._pending, {}
            window = self._window
            self._flushed_at = self._clock()
        if not pending:
            return
        with self._sessions() as session, session.begin():
            for principal, cost in pending.items():
                session.execute(_upsert(session, principal, window, cost))
            rows = session.execute(
                select(_TABLE.c.principal, _TABLE.c.used).where(
                    _TABLE.c.window == window, _TABLE.c.principal.in_(list(pending))
                )
            )
            totals = {r[0]: (int(r[1]), self._clock()) for r in rows}
        with self._lock:
            if self._window == window:
                self._known.update(totals)

    def _used(self, principal: str) -> int:
        with self._lock:
            self._roll_window()
            known = self._known.get(principal)
            pending = self._pending.get(principal, 0)
            window = self._window
        if known is not None and self._clock() - known[1] < self._flush_seconds:
            return known[0] + pending
        with self._sessions() as session:
            value = session.scalar(
                select(_TABLE.c.used).where(
                    _TABLE.c.principal == principal, _TABLE.c.window == window
                )
            )
        with self._lock:
            if self._window == window:
                self._known[principal] = (int(value or 0), self._clock())
            pending = self._pending.get(principal, 0)
        return int(value or 0) + pending

    def _roll_window(self) -> None:
        window = int(self._clock()) // self._config.window_seconds * self._config.window_seconds
        if window != self._window:
            self._window, self._known, self._pending = window, {}, {}

    def _flush_if_due(self) -> None:
        if self._clock() - self._flushed_at >= self._flush_seconds:
            self.flush()


def _upsert(session: Session, principal: str, window: int, cost: int) -> Executable:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_TABLE).values(principal=principal, window=window, used=cost)
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.principal, _TABLE.c.window],
        set_={"used": _TABLE.c.used + cost},
    )

"""The authorization audit trail: every decision appended to a SHA-256 hash chain.

``AuditTrail.record`` enqueues; a daemon thread writes batches. Grants of records and file bytes
are recorded ``durable``: the call returns only once the row is committed, so a crash of the
node cannot lose a grant a client received (decision record 0015); aggregate decisions stay
batched and a crash loses at most the last ``flush_interval`` seconds of them. Rows chain through
``audit_chain.chain_hash``; the ``audit_chain_head`` row (last id and hash) is locked by every
writer and updated with the batch, so writers in several processes never fork the chain. Ids are
assigned from the head, so they are consecutive in chain order. Subjects are stored as an
HMAC-SHA256 pseudonym of ``iss + "\\0" + sub`` under a node key.

Nothing a caller sends can stop the trail: caller-supplied text is made storable when recorded
(NUL and lone surrogates escaped), an event that the database still refuses is written in an
escaped form (or, failing that, logged and counted as dropped) instead of blocking its batch,
and ``health()`` says when the writer is stuck (``/ready`` 503, ``gdi_node_audit_*`` metrics).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import threading
import time as _time
from collections import deque
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.models import AuditChainHead, AuditRecord
from gdi_node.errors import UnavailableError
from gdi_node.passport.audit_chain import (
    COPIED,
    GENESIS_HASH,
    HEAD_ID,
    chain_hash,
    hashed_fields,
    utc,
)
from gdi_node.passport.audit_event import (
    AuditEvent,
    ascii_only,
    storable,
    validate_event,
    with_text,
)
from gdi_node.secrets import load_or_create_secret

log = logging.getLogger(__name__)

MAX_BACKOFF = 5.0


@dataclass(frozen=True)
class AuditHealth:
    """The writer's state, for readiness and metrics."""

    alive: bool
    pending: int
    oldest_pending_seconds: float  # age of the oldest unwritten event; 0 when none
    failing_seconds: float  # how long writes have failed in a row; 0 after a success
    write_failures: int  # failed write attempts since start
    escaped: int  # events written in escaped form because the database refused them as sent
    dropped: int  # events that could not be written in any form (logged with their fields)
    stuck_after: float

    @property
    def stuck(self) -> bool:
        """Not alive, or an event has waited longer than ``stuck_after`` seconds."""
        return not self.alive or self.oldest_pending_seconds > self.stuck_after


class AuditUnavailableError(UnavailableError):
    """A decision could not be recorded in time: the answer is withheld (503)."""

    headers: ClassVar[dict[str, str]] = {"Retry-After": "5"}


def load_or_create_subject_key(path: Path) -> bytes:
    """The 32-byte pseudonymisation key at ``path``, created (mode 0600) when absent."""
    return load_or_create_secret(path)


def pseudonymous_subject(key: bytes, iss: str, sub: str) -> str:
    """Hex HMAC-SHA256 of ``iss + "\\0" + sub``: stable per principal, not reversible."""
    return hmac.new(key, f"{iss}\0{sub}".encode(), hashlib.sha256).hexdigest()


def _event_fault(exc: Exception) -> bool:
    """Whether a failed write was caused by the events' content rather than the database
    (down, locked, missing tables): content faults are isolated, the rest retried."""
    content = (UnicodeError, ValueError, TypeError)
    if isinstance(exc, (*content, sa_exc.DataError)):
        return True
    return isinstance(exc, sa_exc.StatementError) and isinstance(exc.orig, content)


class AuditTrail:
    """Queue of decisions written in batches, by a daemon thread, to the hash chain."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        subject_key: bytes,
        *,
        batch_size: int = 256,
        flush_interval: float = 0.2,
        max_queue: int = 10_000,
        enqueue_timeout: float = 10.0,
        durable_timeout: float = 10.0,
        stuck_after: float = 30.0,
    ) -> None:
        if batch_size < 1 or max_queue < 1:
            raise ValueError("batch_size and max_queue must be at least 1")
        self._sessions = session_factory
        self._key = subject_key
        self._batch_size = batch_size
        self._interval = flush_interval
        self._max_queue = max_queue
        self._enqueue_timeout = enqueue_timeout
        self._durable_timeout = durable_timeout
        self._stuck_after = stuck_after
        self._pending: deque[tuple[float, AuditEvent]] = deque()
        self._cond = threading.Condition()
        self._recorded = 0  # events accepted so far
        self._written = 0  # events committed (or given up) so far, always the oldest ones
        self._flushers = 0
        self._closed = False
        self._stop = False
        self._failing_since: float | None = None
        self._write_failures = 0
        self._escaped = 0
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="audit-trail", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def pending(self) -> int:
        """Events recorded but not yet written."""
        with self._cond:
            return len(self._pending)

    def health(self) -> AuditHealth:
        """The writer's state now (``stuck`` drives ``/ready``)."""
        now = _time.monotonic()
        with self._cond:
            oldest = now - self._pending[0][0] if self._pending else 0.0
            failing = now - self._failing_since if self._failing_since is not None else 0.0
            return AuditHealth(
                alive=self._thread.is_alive() and not self._closed,
                pending=len(self._pending),
                oldest_pending_seconds=oldest,
                failing_seconds=failing,
                write_failures=self._write_failures,
                escaped=self._escaped,
                dropped=self._dropped,
                stuck_after=self._stuck_after,
            )

    def record(self, event: AuditEvent, *, durable: bool = False) -> None:
        """Enqueue ``event``; with ``durable``, return only once it is committed.

        Blocks while the queue is full (back-pressure), at most ``enqueue_timeout`` seconds;
        then, or when a durable event is not committed within ``durable_timeout``, raises
        ``AuditUnavailableError`` (503): no answer leaves without its decision recorded.
        """
        validate_event(event)
        event = with_text(event, storable)
        with self._cond:
            has_room = self._cond.wait_for(
                lambda: self._closed or len(self._pending) < self._max_queue,
                self._enqueue_timeout,
            )
            if self._closed:
                raise RuntimeError("the audit trail is closed")
            if not has_room:
                raise AuditUnavailableError(
                    "the audit trail cannot record decisions now; try again later"
                )
            self._pending.append((_time.monotonic(), event))
            self._recorded += 1
            if len(self._pending) in (1, self._batch_size):
                self._cond.notify_all()  # wake the writer: a batch starts or is full
        if durable:
            self.wait_durable()

    def wait_durable(self) -> None:
        """Return once every event recorded before the call is committed, else raise 503."""
        try:
            self.flush(self._durable_timeout)
        except TimeoutError:
            raise AuditUnavailableError(
                "the decision could not be recorded in the audit trail; try again later"
            ) from None

    def flush(self, timeout: float = 5.0) -> None:
        """Block until every event recorded before the call is written, else TimeoutError."""
        deadline = _time.monotonic() + timeout
        with self._cond:
            target = self._recorded
            self._flushers += 1
            self._cond.notify_all()
            try:
                while self._written < target:
                    remaining = deadline - _time.monotonic()
                    if remaining <= 0 or not self._thread.is_alive():
                        unwritten = target - self._written
                        raise TimeoutError(f"{unwritten} audit events are not yet written")
                    self._cond.wait(remaining)
            finally:
                self._flushers -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Flush, then stop the writer; idempotent. TimeoutError when events had to be left."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        atexit.unregister(self.close)
        try:
            self.flush(timeout)
        except TimeoutError:
            log.error("audit trail closed with %d events unwritten", self.pending)
            raise
        finally:
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            self._thread.join(timeout)

    def _next_batch(self) -> list[AuditEvent] | None:
        """Wait for a full batch, a flush, closing or the interval; None once stopped."""
        with self._cond:
            deadline: float | None = None
            while not self._stop:
                count = len(self._pending)
                if count >= self._batch_size or (count and (self._flushers or self._closed)):
                    break
                if count and deadline is None:
                    deadline = _time.monotonic() + self._interval
                if deadline is not None and _time.monotonic() >= deadline:
                    break
                self._cond.wait(None if deadline is None else deadline - _time.monotonic())
            if self._stop:
                return None
            return [event for _, event in islice(self._pending, self._batch_size)]

    def _run(self) -> None:
        backoff = 0.0
        while (batch := self._next_batch()) is not None:
            try:
                self._write_isolating(batch)
            except Exception:  # database down, locked, ...: keep the events and retry
                first_failure = backoff == 0.0
                backoff = min(MAX_BACKOFF, backoff * 2 or 0.05)
                message = "writing %d audit events failed; retrying in %.2fs"
                log.error(message, len(batch), backoff, exc_info=first_failure)
                with self._cond:
                    self._write_failures += 1
                    if self._failing_since is None:
                        self._failing_since = _time.monotonic()
                    if not self._stop:
                        self._cond.wait_for(lambda: self._stop, backoff)
                continue
            backoff = 0.0
            with self._cond:
                self._failing_since = None

    def _write_isolating(self, batch: list[AuditEvent]) -> None:
        """Write ``batch``; when its content is refused, write its events one by one, an event
        refused on its own in escaped form, and one refused even so is logged and dropped.
        Database failures propagate (the unwritten rest stays queued)."""
        try:
            self._write(batch)
        except Exception as exc:
            if not _event_fault(exc):
                raise
        else:
            self._consumed(len(batch))
            return
        if len(batch) > 1:
            for event in batch:
                self._write_isolating([event])
            return
        escaped = with_text(batch[0], ascii_only)
        try:
            self._write([escaped])
        except Exception as exc:
            if not _event_fault(exc):
                raise
            log.error("audit event dropped, the database refused it: %r (%s)", escaped, exc)
            self._consumed(1, dropped=1)
        else:
            log.warning("audit event written in escaped form: %r", escaped)
            self._consumed(1, escaped=1)

    def _consumed(self, count: int, *, escaped: int = 0, dropped: int = 0) -> None:
        with self._cond:
            for _ in range(count):
                self._pending.popleft()
            self._written += count
            self._escaped += escaped
            self._dropped += dropped
            self._cond.notify_all()

    def _write(self, batch: list[AuditEvent]) -> None:
        """Append ``batch`` after the locked chain head, in one transaction."""
        with self._sessions() as session, session.begin():
            last_id, last_hash = _lock_head(session)
            rows = []
            for event in batch:
                last_id += 1
                rows.append(_new_row(last_id, event, self._key, last_hash))
                last_hash = rows[-1]["row_hash"]
            session.execute(insert(AuditRecord), rows)
            session.execute(
                update(AuditChainHead)
                .where(AuditChainHead.id == HEAD_ID)
                .values(last_id=last_id, last_hash=last_hash)
            )


def _new_row(row_id: int, event: AuditEvent, key: bytes, prev_hash: str) -> dict[str, Any]:
    """Column values of the ``audit_records`` row that chains ``event`` after ``prev_hash``."""
    iss, sub = event.subject_iss, event.subject_sub
    refused = [r.as_json() for r in event.refused_visas]
    row = SimpleNamespace(
        id=row_id,
        time=utc(event.time),
        subject=None if iss is None or sub is None else pseudonymous_subject(key, iss, sub),
        visa_ids=json.dumps(list(event.visa_ids), separators=(",", ":")),
        refused_visas=json.dumps(refused, separators=(",", ":")) if refused else None,
        prev_hash=prev_hash,
        **{name: getattr(event, name) for name in COPIED},
    )
    row.row_hash = chain_hash(prev_hash, hashed_fields(row))
    return vars(row)


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row (write lock on SQLite, FOR UPDATE on PostgreSQL) and read it."""
    if session.get_bind().dialect.name == "sqlite":
        # A no-op UPDATE takes SQLite's write lock now, before the head is read.
        session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.id == HEAD_ID)
            .values(last_id=AuditChainHead.last_id)
        )
    query = select(AuditChainHead.last_id, AuditChainHead.last_hash)
    head = session.execute(query.where(AuditChainHead.id == HEAD_ID).with_for_update()).first()
    if head is not None:
        return head.last_id, head.last_hash
    if session.scalar(select(func.count()).select_from(AuditRecord)):
        raise RuntimeError("audit_chain_head is missing but audit_records is not empty")
    session.execute(insert(AuditChainHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH))
    return 0, GENESIS_HASH

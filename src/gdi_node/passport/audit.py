"""The authorization audit trail: every decision appended to a SHA-256 hash chain.

``AuditTrail.record`` only enqueues; a daemon thread writes batches. Each row stores
``row_hash = sha256(prev_hash + "\\n" + canonical JSON of its fields, id and time included)``,
chaining from 64 zeros; the ``audit_chain_head`` row (last id and hash) is locked by every writer
and updated with the batch, so writers in several processes never fork the chain and a cut
tail is noticed. Ids are assigned from the head, so they are consecutive in chain order.
Subjects are stored as an HMAC-SHA256 pseudonym of ``iss + "\\0" + sub`` under a node key.
``refused_visas`` (migration 0009) lists the ControlledAccessGrants a decision refused because
their issuer is not bound to their DAC source; it is hashed only when set, so rows written
before it existed verify unchanged.
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
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.models import AuditChainHead, AuditRecord
from gdi_node.secrets import load_or_create_secret

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HEAD_ID = 1
DECISIONS = frozenset({"allow", "deny"})
DISCLOSURES = frozenset({"none", "boolean", "count", "record", "file"})
MAX_OPERATION = 64
MAX_BACKOFF = 5.0
COPIED = ("operation", "dataset_id", "object_id", "decision", "disclosure", "client_address",
          "request_id")  # fmt: skip
HASHED = ("id", "time", "subject", "visa_ids", *COPIED)
OPTIONAL_HASHED = "refused_visas"  # part of the hash only when not NULL


@dataclass(frozen=True)
class RefusedVisa:
    """A grant a decision refused: its id, its issuer and the DAC source it claimed."""

    visa_id: str
    iss: str
    source: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.visa_id, "iss": self.iss, "source": self.source}


@dataclass(frozen=True)
class AuditEvent:
    """One authorization decision, as handed to ``AuditTrail.record``."""

    time: datetime
    subject_iss: str | None  # None for the anonymous principal
    subject_sub: str | None
    operation: str
    dataset_id: str | None
    object_id: str | None
    decision: str  # "allow" | "deny"
    disclosure: str
    visa_ids: tuple[str, ...]
    client_address: str | None
    request_id: str | None
    refused_visas: tuple[RefusedVisa, ...] = ()


@dataclass(frozen=True)
class ChainReport:
    """Outcome of ``verify_chain``: ``first_bad_id`` is the first id where the chain breaks."""

    ok: bool
    rows: int
    first_bad_id: int | None
    problem: str | None


def load_or_create_subject_key(path: Path) -> bytes:
    """The 32-byte pseudonymisation key at ``path``, created (mode 0600) when absent."""
    return load_or_create_secret(path)


def pseudonymous_subject(key: bytes, iss: str, sub: str) -> str:
    """Hex HMAC-SHA256 of ``iss + "\\0" + sub``: stable per principal, not reversible."""
    return hmac.new(key, f"{iss}\0{sub}".encode(), hashlib.sha256).hexdigest()


def _utc(moment: datetime) -> datetime:
    """Aware UTC; naive values (SQLite returns them) are taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # a tampered cell: hash and export it as it stands
        return text


def _fields(row: Any) -> dict[str, Any]:
    """The hashed fields (id and time included) of a row, as JSON values."""
    fields = {name: getattr(row, name) for name in HASHED}
    fields["time"] = _utc(row.time).isoformat(timespec="microseconds")
    fields["visa_ids"] = _json_or_text(row.visa_ids)
    refused = getattr(row, OPTIONAL_HASHED)
    if refused is not None:
        fields[OPTIONAL_HASHED] = _json_or_text(refused)
    return fields


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """``sha256(prev_hash + "\\n" + canonical JSON of fields)`` as 64 hex digits."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _validate(event: AuditEvent) -> None:
    """Refuse events the database would reject, so one bad event cannot block the queue."""
    if (event.subject_iss is None) != (event.subject_sub is None):
        raise ValueError("subject_iss and subject_sub must both be set or both be None")
    if event.decision not in DECISIONS:
        raise ValueError(f"decision must be one of {sorted(DECISIONS)}")
    if event.disclosure not in DISCLOSURES:
        raise ValueError(f"disclosure must be one of {sorted(DISCLOSURES)}")
    if not 0 < len(event.operation) <= MAX_OPERATION:
        raise ValueError(f"operation must have 1 to {MAX_OPERATION} characters")
    if event.time.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    texts = [getattr(event, name) for name in COPIED] + list(event.visa_ids)
    texts += [text for refused in event.refused_visas for text in refused.as_json().values()]
    if any(text is not None and "\0" in text for text in texts):
        raise ValueError("audit fields may not contain NUL characters")


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
    ) -> None:
        if batch_size < 1 or max_queue < 1:
            raise ValueError("batch_size and max_queue must be at least 1")
        self._sessions = session_factory
        self._key = subject_key
        self._batch_size = batch_size
        self._interval = flush_interval
        self._max_queue = max_queue
        self._pending: deque[AuditEvent] = deque()
        self._cond = threading.Condition()
        self._recorded = 0  # events accepted so far
        self._written = 0  # events committed so far (always the oldest ones)
        self._flushers = 0
        self._closed = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="audit-trail", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def pending(self) -> int:
        """Events recorded but not yet written."""
        with self._cond:
            return len(self._pending)

    def record(self, event: AuditEvent) -> None:
        """Enqueue ``event``; blocks only while the queue is full (back-pressure)."""
        _validate(event)
        with self._cond:
            while not self._closed and len(self._pending) >= self._max_queue:
                self._cond.wait()
            if self._closed:
                raise RuntimeError("the audit trail is closed")
            self._pending.append(event)
            self._recorded += 1
            if len(self._pending) in (1, self._batch_size):
                self._cond.notify_all()  # wake the writer: a batch starts or is full

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
            return list(islice(self._pending, self._batch_size))

    def _run(self) -> None:
        backoff = 0.0
        while (batch := self._next_batch()) is not None:
            try:
                self._write(batch)
            except Exception:  # database down, locked, ...: keep the events and retry
                first_failure = backoff == 0.0
                backoff = min(MAX_BACKOFF, backoff * 2 or 0.05)
                message = "writing %d audit events failed; retrying in %.2fs"
                log.error(message, len(batch), backoff, exc_info=first_failure)
                with self._cond:
                    if not self._stop:
                        self._cond.wait_for(lambda: self._stop, backoff)
                continue
            backoff = 0.0
            with self._cond:
                for _ in batch:
                    self._pending.popleft()
                self._written += len(batch)
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
        time=_utc(event.time),
        subject=None if iss is None or sub is None else pseudonymous_subject(key, iss, sub),
        visa_ids=json.dumps(list(event.visa_ids), separators=(",", ":")),
        refused_visas=json.dumps(refused, separators=(",", ":")) if refused else None,
        prev_hash=prev_hash,
        **{name: getattr(event, name) for name in COPIED},
    )
    row.row_hash = chain_hash(prev_hash, _fields(row))
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


def verify_chain(session_factory: sessionmaker[Session]) -> ChainReport:
    """Recompute the chain: finds edited, deleted (middle or tail), reordered or forged rows.

    The head is read first; rows appended meanwhile by live writers are checked too.
    """
    with session_factory() as session:
        head = session.get(AuditChainHead, HEAD_ID)
        head_id, head_hash = (head.last_id, head.last_hash) if head else (None, None)
        query = select(AuditRecord).order_by(AuditRecord.id)
        rows = session.scalars(query.execution_options(yield_per=1000))
        count, prev_hash = 0, GENESIS_HASH
        for row in rows:
            count += 1  # ids run 1, 2, 3, ... in chain order
            problem = _row_problem(row, count, prev_hash)
            if problem is None and row.id == head_id and row.row_hash != head_hash:
                problem = "row_hash differs from the chain head"
            if problem is not None:
                rows.close()
                return ChainReport(False, count, min(row.id, count), problem)
            prev_hash = row.row_hash
    if head_id is None:
        problem = "the chain head row is missing" if count else None
        return ChainReport(not count, count, None, problem)
    if count < head_id:
        return ChainReport(False, count, count + 1, f"rows {count + 1} to {head_id} are missing")
    return ChainReport(True, count, None, None)


def _row_problem(row: AuditRecord, expected_id: int, prev_hash: str) -> str | None:
    if row.id != expected_id:
        return f"row {expected_id} is missing" if row.id > expected_id else "unexpected id"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the previous row"
    if chain_hash(prev_hash, _fields(row)) != row.row_hash:
        return "row_hash does not match the row's content"
    return None


def export_jsonl(
    session_factory: sessionmaker[Session], out: TextIO, since: datetime | None = None
) -> int:
    """Write rows (from ``since`` on) as JSON lines, hashes included; returns the count."""
    query = select(AuditRecord).order_by(AuditRecord.id).execution_options(yield_per=1000)
    if since is not None:
        query = query.where(AuditRecord.time >= _utc(since))
    count = 0
    with session_factory() as session:
        for row in session.scalars(query):
            line = {**_fields(row), "prev_hash": row.prev_hash, "row_hash": row.row_hash}
            out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
    return count

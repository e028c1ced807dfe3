"""The audit trail's hash chain: row hashing, verification and export.

Each row stores ``row_hash = sha256(prev_hash + "\\n" + canonical JSON of its fields, id and time
included)``, chaining from 64 zeros; the ``audit_chain_head`` row holds the last id and hash, so a
cut tail is noticed. ``refused_visas`` (migration 0009) lists the ControlledAccessGrants a
decision refused because their issuer is not bound to their DAC source; it is hashed only when
set, so rows written before it existed verify unchanged. ``gdi-node audit verify`` and
``audit export`` read through this module; the writer (gdi_node.passport.audit) appends
through ``chain_hash``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.models import AuditChainHead, AuditRecord

GENESIS_HASH = "0" * 64
HEAD_ID = 1
COPIED = ("operation", "dataset_id", "object_id", "decision", "disclosure", "client_address",
          "request_id")  # fmt: skip
HASHED = ("id", "time", "subject", "visa_ids", *COPIED)
OPTIONAL_HASHED = "refused_visas"  # part of the hash only when not NULL


@dataclass(frozen=True)
class ChainReport:
    """Outcome of ``verify_chain``: ``first_bad_id`` is the first id where the chain breaks."""

    ok: bool
    rows: int
    first_bad_id: int | None
    problem: str | None


def utc(moment: datetime) -> datetime:
    """Aware UTC; naive values (SQLite returns them) are taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # a tampered cell: hash and export it as it stands
        return text


def hashed_fields(row: Any) -> dict[str, Any]:
    """The hashed fields (id and time included) of a row, as JSON values."""
    fields = {name: getattr(row, name) for name in HASHED}
    fields["time"] = utc(row.time).isoformat(timespec="microseconds")
    fields["visa_ids"] = _json_or_text(row.visa_ids)
    refused = getattr(row, OPTIONAL_HASHED)
    if refused is not None:
        fields[OPTIONAL_HASHED] = _json_or_text(refused)
    return fields


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """``sha256(prev_hash + "\\n" + canonical JSON of fields)`` as 64 hex digits."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


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
    if chain_hash(prev_hash, hashed_fields(row)) != row.row_hash:
        return "row_hash does not match the row's content"
    return None


def export_jsonl(
    session_factory: sessionmaker[Session], out: TextIO, since: datetime | None = None
) -> int:
    """Write rows (from ``since`` on) as JSON lines, hashes included; returns the count."""
    query = select(AuditRecord).order_by(AuditRecord.id).execution_options(yield_per=1000)
    if since is not None:
        query = query.where(AuditRecord.time >= utc(since))
    count = 0
    with session_factory() as session:
        for row in session.scalars(query):
            line = {**hashed_fields(row), "prev_hash": row.prev_hash, "row_hash": row.row_hash}
            out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
    return count

"""One authorization decision as the audit trail takes it, and the rules it must meet.

Fields a caller influences (subject, dataset and object ids, client address, request id, visa
ids, refused grants) are made storable when recorded: NUL and lone UTF-16 surrogates, which no
database text column takes, are escaped, so nothing a caller sends can make the writer fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

DECISIONS = frozenset({"allow", "deny"})
DISCLOSURES = frozenset({"none", "boolean", "count", "record", "file"})
MAX_OPERATION = 64
CALLER_TEXT = ("subject_iss", "subject_sub", "dataset_id", "object_id", "client_address",
               "request_id")  # fmt: skip


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


def storable(text: str) -> str:
    """``text`` with what no database column takes escaped: NUL as ``\\x00``, a lone
    surrogate as its ``\\u`` escape (e.g. ``\\ud800``). Valid text is returned unchanged."""
    if "\0" in text:
        text = text.replace("\0", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def ascii_only(text: str) -> str:
    """``text`` in printable-escaped ASCII: the last resort for an event a database refused."""
    return storable(text).encode("ascii", "backslashreplace").decode("ascii")


def with_text(event: AuditEvent, convert: Callable[[str], str]) -> AuditEvent:
    """``event`` with every caller-supplied text field passed through ``convert``."""
    changes: dict[str, Any] = {
        name: convert(value) for name in CALLER_TEXT if (value := getattr(event, name)) is not None
    }
    refused = tuple(
        RefusedVisa(convert(r.visa_id), convert(r.iss), convert(r.source))
        for r in event.refused_visas
    )
    visa_ids = tuple(convert(v) for v in event.visa_ids)
    return replace(event, visa_ids=visa_ids, refused_visas=refused, **changes)


def validate_event(event: AuditEvent) -> None:
    """Refuse events only this node's own code can get wrong (a bug, not a caller's input)."""
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

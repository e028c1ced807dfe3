"""Writes of a metadata load (gdi_node.beacon.ingest.metadata) into ``beacon_entries`` with
their filter index (``beacon_entry_terms``, ``beacon_entry_values``: what
gdi_node.beacon.framework.entry_index finds in a record), and the reads the load checks its
records against. Every function runs in the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from gdi_node.beacon.framework.entry_index import EntryIndex
from gdi_node.beacon.store.entry_rows import EntryRef
from gdi_node.db.models import BeaconEntry, BeaconEntryTerm, BeaconEntryValue, Dataset

_ENTRIES = cast(Table, BeaconEntry.__table__)
_TERMS = cast(Table, BeaconEntryTerm.__table__)
_VALUES = cast(Table, BeaconEntryValue.__table__)
_CHUNK = 500  # ids per query
_MAX_TEXT = 255  # beacon_entries.source, beacon_entry_values.field


@dataclass(frozen=True)
class NewEntry(EntryRef):
    """One record to store: its identity and links, where it was read, and its document
    (canonical JSON)."""

    source: str  # file name and position
    document: str


def dataset_declared(session: Session, dataset_id: str) -> bool:
    return session.get(Dataset, dataset_id) is not None


def stored_documents(
    session: Session, dataset_id: str, ids: Mapping[str, Sequence[str]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """(entry type, id) -> (entry_no, document) of the dataset's stored records among ``ids``
    (entry type -> ids): one query per 500 ids, not one per record."""
    out = {}
    for entry_type, names in ids.items():
        for start in range(0, len(names), _CHUNK):
            rows = session.execute(
                select(_ENTRIES.c.entry_id, _ENTRIES.c.entry_no, _ENTRIES.c.document).where(
                    _ENTRIES.c.entry_type == entry_type,
                    _ENTRIES.c.dataset_id == dataset_id,
                    _ENTRIES.c.entry_id.in_(names[start : start + _CHUNK]),
                )
            )
            for entry_id, entry_no, document in rows:
                out[(entry_type, str(entry_id))] = (int(entry_no), str(document))
    return out


def stored_ids(
    session: Session, dataset_id: str, entry_types: Collection[str]
) -> set[tuple[str, str]]:
    """(entry type, id) of the dataset's stored records of ``entry_types``."""
    rows = session.execute(
        select(_ENTRIES.c.entry_type, _ENTRIES.c.entry_id).where(
            _ENTRIES.c.dataset_id == dataset_id,
            _ENTRIES.c.entry_type.in_(list(entry_types)),
        )
    )
    return {(str(entry_type), str(entry_id)) for entry_type, entry_id in rows}


def biosample_owners(session: Session, dataset_id: str) -> dict[str, str]:
    """Biosample id -> individual id of the dataset's biosample records."""
    rows = session.execute(
        select(_ENTRIES.c.entry_id, _ENTRIES.c.individual_id).where(
            _ENTRIES.c.dataset_id == dataset_id, _ENTRIES.c.entry_type == "biosample"
        )
    )
    return {str(b): str(i) for b, i in rows if i}


def delete_entry(session: Session, entry_no: int) -> None:
    """Delete one stored record with its terms and values."""
    session.execute(delete(_TERMS).where(_TERMS.c.entry_no == entry_no))
    session.execute(delete(_VALUES).where(_VALUES.c.entry_no == entry_no))
    session.execute(delete(_ENTRIES).where(_ENTRIES.c.entry_no == entry_no))


def add_entry(session: Session, entry: NewEntry, index: EntryIndex) -> int:
    """Store one record with its terms and values; returns its entry_no."""
    row = asdict(entry) | {"source": entry.source[:_MAX_TEXT]}
    entry_no = int(
        session.execute(insert(_ENTRIES).returning(_ENTRIES.c.entry_no), row).scalar_one()
    )
    if index.terms:
        session.execute(
            insert(_TERMS), [{"entry_no": entry_no, "term": t} for t in sorted(index.terms)]
        )
    if index.values:
        session.execute(
            insert(_VALUES),
            [
                {"entry_no": entry_no, "field": f[:_MAX_TEXT], "number": n, "text": t}
                for f, n, t in index.values
            ],
        )
    return entry_no

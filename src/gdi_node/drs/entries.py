"""Catalogue reads for DRS, as plain rows rather than ORM objects: a bulk request of 1,000 ids
loads 1,000 files with their indexes in one query and their aliases in a second (DRS 1.5 bulk
endpoints)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from gdi_node.db.models import DataObject, IndexObject, ObjectAlias
from gdi_node.storage.names import objects_named

_CHUNK = 500  # ids per IN list


class Blob(NamedTuple):
    """One file: a data object or an index."""

    id: str
    name: str
    path: str
    format: str
    size: int
    sha256: str
    md5: str
    created_time: datetime
    updated_time: datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """A data object with its index and aliases."""

    dataset_id: str
    data: Blob
    index: Blob | None
    aliases: tuple[str, ...]


_WIDTH = len(Blob._fields)
# Core tables, not ORM entities: rows come back without the ORM's per-row loading step.
_DATA = DataObject.__table__
_INDEX = IndexObject.__table__
_ALIAS = ObjectAlias.__table__


def _blob_columns(table: Any) -> tuple[Any, ...]:
    return tuple(table.c[field] for field in Blob._fields)


# A data object, its index (if any) and its dataset, in one row.
_ENTRY_ROWS = select(_DATA.c.dataset_id, *_blob_columns(_DATA), *_blob_columns(_INDEX)).outerjoin(
    _INDEX, _INDEX.c.data_object_id == _DATA.c.id
)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


class EntryLookup:
    """Entries by data object id or by index id, and what names name, in the caller's session.

    ``with_aliases=False`` leaves ``Entry.aliases`` empty and saves a query (access URLs need
    no aliases)."""

    def __init__(self, session: Session, *, with_aliases: bool = True) -> None:
        self._session = session
        self._with_aliases = with_aliases

    def by_ids(self, ids: Iterable[str]) -> dict[str, Entry]:
        rows: list[Any] = []
        for chunk in _chunks(ids):
            rows.extend(self._session.execute(_ENTRY_ROWS.where(_DATA.c.id.in_(chunk))))
        aliases = self._aliases([row[1] for row in rows]) if self._with_aliases else {}
        entries = {}
        for row in rows:
            data = Blob._make(row[1 : 1 + _WIDTH])
            index = Blob._make(row[1 + _WIDTH :]) if row[1 + _WIDTH] is not None else None
            entries[data.id] = Entry(row[0], data, index, aliases.get(data.id, ()))
        return entries

    def by_index_ids(self, ids: Iterable[str]) -> dict[str, Entry]:
        """Entries keyed by the index id asked for."""
        owners: dict[str, str] = {}
        for chunk in _chunks(ids):
            query = select(_INDEX.c.id, _INDEX.c.data_object_id).where(_INDEX.c.id.in_(chunk))
            owners.update((row[0], row[1]) for row in self._session.execute(query))
        entries = self.by_ids(owners.values())
        return {index_id: entries[owner] for index_id, owner in owners.items() if owner in entries}

    def named(self, names: Iterable[str]) -> dict[str, dict[str, str]]:
        """Per name, the data objects it names by id or alias (object id -> dataset id)."""
        return objects_named(self._session, names)

    def _aliases(self, object_ids: list[str]) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(object_ids):
            query = select(_ALIAS.c.object_id, _ALIAS.c.alias).where(_ALIAS.c.object_id.in_(chunk))
            for object_id, alias in self._session.execute(query):
                found.setdefault(object_id, []).append(alias)
        return {object_id: tuple(sorted(names)) for object_id, names in found.items()}

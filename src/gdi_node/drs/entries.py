"""Catalogue reads for DRS, as plain rows rather than ORM objects: a bulk request of 1,000 ids
loads 1,000 files, their indexes and aliases in three queries (DRS 1.5 bulk endpoints)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gdi_node.db.models import DataObject, IndexObject, ObjectAlias

_CHUNK = 500  # ids per IN list


@dataclass(frozen=True)
class Blob:
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


@dataclass(frozen=True)
class Entry:
    """A data object with its index and aliases."""

    dataset_id: str
    data: Blob
    index: Blob | None
    aliases: tuple[str, ...]


def _blob_columns(model: Any) -> tuple[Any, ...]:
    return (
        model.id,
        model.name,
        model.path,
        model.format,
        model.size,
        model.sha256,
        model.md5,
        model.created_time,
        model.updated_time,
    )


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


class EntryLookup:
    """Entries by data object id, by index id, or by alias, in the caller's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def by_ids(self, ids: Iterable[str]) -> dict[str, Entry]:
        rows: list[Any] = []
        for chunk in _chunks(ids):
            query = select(DataObject.dataset_id, *_blob_columns(DataObject)).where(
                DataObject.id.in_(chunk)
            )
            rows.extend(self._session.execute(query))
        return self._complete(rows)

    def by_index_ids(self, ids: Iterable[str]) -> dict[str, Entry]:
        """Entries keyed by the index id asked for."""
        owners: dict[str, str] = {}
        for chunk in _chunks(ids):
            query = select(IndexObject.id, IndexObject.data_object_id).where(
                IndexObject.id.in_(chunk)
            )
            owners.update((row[0], row[1]) for row in self._session.execute(query))
        entries = self.by_ids(owners.values())
        return {index_id: entries[owner] for index_id, owner in owners.items() if owner in entries}

    def by_alias(self, alias: str) -> Sequence[Entry]:
        query = select(ObjectAlias.object_id).where(ObjectAlias.alias == alias)
        return list(self.by_ids(self._session.scalars(query)).values())

    def _complete(self, rows: list[Any]) -> dict[str, Entry]:
        ids = [row[1] for row in rows]
        indexes: dict[str, Blob] = {}
        aliases: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            query = select(IndexObject.data_object_id, *_blob_columns(IndexObject)).where(
                IndexObject.data_object_id.in_(chunk)
            )
            indexes.update((row[0], Blob(*row[1:])) for row in self._session.execute(query))
            named = select(ObjectAlias.object_id, ObjectAlias.alias).where(
                ObjectAlias.object_id.in_(chunk)
            )
            for object_id, alias in self._session.execute(named):
                aliases.setdefault(object_id, []).append(alias)
        return {
            row[1]: Entry(
                row[0], Blob(*row[1:]), indexes.get(row[1]), tuple(sorted(aliases.get(row[1], [])))
            )
            for row in rows
        }

"""``gdi-node verify``: re-hash the catalogue's files (data objects and their indexes) and report
the ones missing, resized or corrupted, so operators learn of damage before users do.

The data endpoint and DRS's access methods independently refuse any object whose size no longer
matches the catalogue (:func:`size_matches`, one ``stat``); this command also catches same-size
corruption, which only a full re-hash can see.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gdi_node.db.models import DataObject, IndexObject
from gdi_node.errors import DomainError
from gdi_node.storage.checksums import digest_file

Verdict = Literal["ok", "missing", "size-changed", "corrupted", "unreadable"]


def size_matches(path: str | os.PathLike[str], size: int) -> bool:
    """Whether the file is still the size the catalogue recorded (else it is not served)."""
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False


@dataclass(frozen=True)
class FileCheck:
    object_id: str
    dataset_id: str
    path: str
    verdict: Verdict
    detail: str = ""


def _catalogue_files(
    sessions: sessionmaker[Session], dataset_id: str | None
) -> list[tuple[str, str, str, int, str]]:
    """(object id, dataset, path, size, sha-256) of every file, data objects then indexes."""
    rows: list[tuple[str, str, str, int, str]] = []
    with sessions() as session:
        objects = (
            select(DataObject)
            .options(selectinload(DataObject.index))  # one query for all indexes, not one each
            .order_by(DataObject.dataset_id, DataObject.name)
        )
        if dataset_id is not None:
            objects = objects.where(DataObject.dataset_id == dataset_id)
        for obj in session.scalars(objects):
            rows.append((obj.id, obj.dataset_id, obj.path, obj.size, obj.sha256))
            index: IndexObject | None = obj.index
            if index is not None:
                rows.append((index.id, obj.dataset_id, index.path, index.size, index.sha256))
    return rows


def verify_files(
    sessions: sessionmaker[Session], dataset_id: str | None = None
) -> Iterator[FileCheck]:
    """One verdict per catalogue file, in catalogue order."""
    for object_id, dataset, path, size, sha256 in _catalogue_files(sessions, dataset_id):
        file = Path(path)
        if not file.is_file():
            yield FileCheck(object_id, dataset, path, "missing", "the file is gone")
            continue
        actual = file.stat().st_size
        if actual != size:
            detail = f"{actual} bytes on disk, {size} registered"
            yield FileCheck(object_id, dataset, path, "size-changed", detail)
            continue
        try:
            digest = digest_file(file)
        except DomainError as exc:
            yield FileCheck(object_id, dataset, path, "unreadable", exc.message)
            continue
        if digest.sha256 != sha256:
            detail = f"sha-256 {digest.sha256}, {sha256} registered"
            yield FileCheck(object_id, dataset, path, "corrupted", detail)
        else:
            yield FileCheck(object_id, dataset, path, "ok")

"""Repository of the object catalogue: datasets and the files registered in place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gdi_node.config.settings import DatasetSettings
from gdi_node.db.models import DataObject, Dataset, IndexObject


class CatalogueRepository:
    """Reads and writes catalogue rows in the caller's session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def sync_datasets(self, declared: Iterable[DatasetSettings]) -> None:
        """Insert or update the datasets declared in the settings.

        Datasets in the table but no longer declared stay: objects may still refer to them.
        """
        for spec in declared:
            row = self.session.get(Dataset, spec.id)
            if row is None:
                row = Dataset(id=spec.id)
                self.session.add(row)
            row.name = spec.name
            row.description = spec.description
            row.security_level = spec.security_level.value
        self.session.flush()

    def get_dataset(self, dataset_id: str) -> Dataset | None:
        return self.session.get(Dataset, dataset_id)

    def list_datasets(self) -> Sequence[Dataset]:
        return self.session.scalars(select(Dataset).order_by(Dataset.id)).all()

    def get_object(self, object_id: str) -> DataObject | None:
        return self.session.get(DataObject, object_id)

    def find_object_by_path(self, path: str) -> DataObject | None:
        return self.session.scalars(select(DataObject).where(DataObject.path == path)).first()

    def list_objects(self, dataset_id: str | None = None) -> Sequence[DataObject]:
        """Objects with their aliases loaded (one more statement, not one per object)."""
        query = (
            select(DataObject)
            .options(selectinload(DataObject.aliases))
            .order_by(DataObject.dataset_id, DataObject.name)
        )
        if dataset_id is not None:
            query = query.where(DataObject.dataset_id == dataset_id)
        return self.session.scalars(query).all()

    def add_object(self, obj: DataObject) -> DataObject:
        self.session.add(obj)
        self.session.flush()
        return obj

    def count_objects(self) -> int:
        return self.session.scalar(select(func.count()).select_from(DataObject)) or 0

    def get_index(self, index_id: str) -> IndexObject | None:
        return self.session.get(IndexObject, index_id)

    def count_indexes(self) -> int:
        return self.session.scalar(select(func.count()).select_from(IndexObject)) or 0

    def blob_totals(self) -> tuple[int, int]:
        """How many files (data objects and indexes) the catalogue holds, and their bytes."""
        count, size = 0, 0
        for model in (DataObject, IndexObject):
            row = self.session.execute(
                select(func.count(), func.coalesce(func.sum(model.size), 0)).select_from(model)
            ).one()
            count, size = count + int(row[0]), size + int(row[1])
        return count, size

"""Wiring shared by the CLI commands: database preparation and catalogue access from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from gdi_node.config.settings import Settings
from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.db.migrate import current_revision, schema_lock, upgrade

if TYPE_CHECKING:
    from gdi_node.storage.ingest import FileIngestor, ProgressFactory


def prepare_database(settings: Settings) -> str | None:
    """Migrate the database to the newest schema and upsert the declared datasets."""
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
        with schema_lock(engine), make_session_factory(engine)() as session, session.begin():
            CatalogueRepository(session).sync_datasets(settings.datasets)
        return current_revision(engine)
    finally:
        engine.dispose()


@contextmanager
def migrated_sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated database with the declared datasets in place."""
    prepare_database(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def open_ingestor(
    settings: Settings, progress: ProgressFactory | None = None
) -> Iterator[FileIngestor]:
    """An ingestor on a migrated database with the declared datasets in place."""
    from gdi_node.storage.ingest import FileIngestor

    with migrated_sessions(settings) as sessions:
        yield FileIngestor(
            sessions,
            drs_hostname=settings.drs_hostname,
            index_dir=settings.data_dir / "indexes",
            progress=progress,
        )


def catalogue_listing(settings: Settings, dataset_id: str | None = None) -> list[dict[str, Any]]:
    """The catalogue's objects as plain dicts (for ``gdi-node objects``)."""
    with migrated_sessions(settings) as sessions, sessions() as session:
        return [
            {
                "id": o.id,
                "dataset_id": o.dataset_id,
                "name": o.name,
                "format": o.format,
                "path": o.path,
                "index_path": o.index_path,
                "size": o.size,
                "sha256": o.sha256,
                "md5": o.md5,
                "drs_uri": f"drs://{settings.drs_hostname}/{o.id}",
                "aliases": [a.alias for a in o.aliases],  # names DRS and htsget resolve too
                "created_time": o.created_time.isoformat(),
            }
            for o in CatalogueRepository(session).list_objects(dataset_id)
        ]

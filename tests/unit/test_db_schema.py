"""Migrations and the catalogue repository, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from gdi_node.bootstrap import prepare_database
from gdi_node.config.settings import Settings
from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.db.migrate import current_revision, head_revision, upgrade
from gdi_node.db.models import Base, DataObject


def test_migrations_create_exactly_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent_and_reaches_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0015"
    finally:  # a failed check must not leave a connection for a later test's collector
        engine.dispose()


def test_declared_datasets_are_inserted_then_updated(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=database_url)
    prepare_database(settings)
    renamed = make_settings(
        database_url=database_url,
        datasets=[{"id": "DS-PUBLIC", "name": "Renamed", "security_level": "REGISTERED"}],
    )
    prepare_database(renamed)
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        rows = {d.id: d for d in CatalogueRepository(session).list_datasets()}
    engine.dispose()
    assert set(rows) == {"DS-PUBLIC", "DS-CONTROLLED"}  # undeclared rows are kept
    assert rows["DS-PUBLIC"].name == "Renamed"
    assert rows["DS-PUBLIC"].security_level == "REGISTERED"
    assert rows["DS-CONTROLLED"].security_level == "CONTROLLED"


def _object(object_id: str, path: str, **extra: Any) -> DataObject:
    values: dict[str, Any] = {
        "id": object_id,
        "dataset_id": "DS-PUBLIC",
        "name": "a.bam",
        "path": path,
        "format": "BAM",
        "size": 10,
        "mtime_ns": 1,
        "sha256": "0" * 64,
        "md5": "0" * 32,
    }
    values.update(extra)
    return DataObject(**values)


def test_one_path_is_one_object(database_url: str, make_settings: Callable[..., Settings]) -> None:
    prepare_database(make_settings(database_url=database_url))
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        CatalogueRepository(session).add_object(_object("one", "/store/a.bam"))
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        CatalogueRepository(session).add_object(_object("two", "/store/a.bam"))
    with sessions() as session:
        assert CatalogueRepository(session).count_objects() == 1
    engine.dispose()


def test_object_needs_an_existing_dataset(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    prepare_database(make_settings(database_url=database_url))
    engine = make_engine(database_url)
    with (
        pytest.raises(IntegrityError),
        make_session_factory(engine)() as session,
        session.begin(),
    ):
        CatalogueRepository(session).add_object(_object("x", "/p", dataset_id="NOPE"))
    engine.dispose()


def test_large_sizes_fit(database_url: str, make_settings: Callable[..., Settings]) -> None:
    prepare_database(make_settings(database_url=database_url))
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        CatalogueRepository(session).add_object(_object("big", "/big.cram", size=120 * 2**30))
    with sessions() as session:
        row = CatalogueRepository(session).get_object("big")
        assert row is not None
        assert row.size == 120 * 2**30
    engine.dispose()

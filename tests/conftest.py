"""Shared fixtures: settings, databases (SQLite always, PostgreSQL when configured) and apps.

Storage tests take the ``database_url`` fixture, which runs them once on a SQLite file and once
on a fresh database of the PostgreSQL server named by ``GDI_NODE_TEST_POSTGRES_URL``. When
``GDI_NODE_TEST_REQUIRE_POSTGRES=1`` (set by scripts/test), a missing server fails the run
instead of skipping those cases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine, normalise_url
from gdi_node.db.migrate import upgrade

# htslib must never try to download CRAM references (EBI by MD5) during tests: no network here,
# and a blocked download would hang until a TCP timeout.
os.environ.setdefault("REF_PATH", "/nonexistent/%s")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("GDI_NODE_TEST_POSTGRES_URL")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when the folder is not beside the repository."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared must sit beside the repository)")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server, dropped afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("GDI_NODE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail("GDI_NODE_TEST_POSTGRES_URL is not set but PostgreSQL is required")
        pytest.skip("GDI_NODE_TEST_POSTGRES_URL not set")
    name = f"gdi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(POSTGRES_URL)).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test on each supported database."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "public_url": "http://node.test:8080",
            "datasets": [
                {"id": "DS-PUBLIC", "name": "Public set", "security_level": "PUBLIC"},
                {"id": "DS-CONTROLLED", "name": "Controlled set"},
            ],
        }
        values.update(overrides)
        return Settings.model_validate(values)

    return factory


@pytest.fixture
def settings(make_settings: Callable[..., Settings], sqlite_url: str) -> Settings:
    return make_settings(database_url=sqlite_url)


@pytest.fixture
def migrated_settings(settings: Settings) -> Settings:
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    return settings


@pytest.fixture
def app(migrated_settings: Settings) -> Any:
    from gdi_node.app import create_app

    return create_app(migrated_settings, validate_responses=True)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="session")
def world() -> Iterator[Any]:
    """Real brokers and visa issuers on loopback (one server for the session)."""
    from tests.support.passport_world import open_world

    with open_world() as opened:
        yield opened


@pytest.fixture
def stack(world: Any, tmp_path: Path) -> Iterator[Any]:
    """The node's authorization stack trusting ``world`` (fresh caches per test)."""
    from tests.support.passport_world import open_stack

    world.peers.reset_counts()
    with open_stack(world.settings(tmp_path)) as opened:
        yield opened

"""An unreachable database is a 503 with ``Retry-After`` in each API's envelope, not a 500, and
the node answers again once the database is back, without a restart. Only failures of the
connection count (gdi_node.db.engine.database_unavailable): a wrong statement stays a 500."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from gdi_node.app import create_app
from gdi_node.bootstrap import migrated_sessions
from gdi_node.db.engine import database_unavailable, make_engine
from tests.conftest import REPO_ROOT
from tests.support.htsget_setup import node_settings
from tests.support.processes import free_port

BEACON = "/ga4gh/beacon/v2"
SCRIPT = REPO_ROOT / "scripts" / "test-postgres"
# path -> (API envelope, status while the database is up)
DATABASE_BACKED = {
    f"{BEACON}/g_variants?referenceName=22&start=1&end=9": ("beacon", 200),
    f"{BEACON}/individuals": ("beacon", 200),
    "/ga4gh/drs/v1/objects/some-id": ("drs", 404),
    "/htsget/reads/some-id": ("htsget", 404),
}


class PrivatePostgres:
    """A PostgreSQL server of this test alone (scripts/test-postgres), to stop and start."""

    def __init__(self) -> None:
        # the server runs as the 'postgres' user when the tests run as root: a folder it owns,
        # outside pytest's private temporary tree
        self.folder = tempfile.mkdtemp(prefix="gdi-node-outage-")
        self.env = {**os.environ, "GDI_NODE_TEST_POSTGRES_PORT": str(free_port())}
        self.url = ""

    def run(self, action: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), action, self.folder],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    def start(self) -> None:
        self.url = self.run("start")

    def stop(self) -> None:
        self.run("stop")


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("PostgreSQL server binaries are not installed")
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", server.folder], check=False)


def answer(client: Any, path: str) -> tuple[int, str | None, dict[str, Any]]:
    response = client.get(path)
    return response.status_code, response.headers.get("retry-after"), response.json()


def unavailable(api: str, body: dict[str, Any]) -> str:
    """The message of a 503 in ``api``'s envelope."""
    if api == "beacon":
        assert body["error"]["errorCode"] == 503
        return str(body["error"]["errorMessage"])
    if api == "drs":
        assert body["status_code"] == 503
        return str(body["msg"])
    assert body["htsget"]["error"] == "Unavailable"
    return str(body["htsget"]["message"])


def test_an_unreachable_database_is_503_with_retry_after_and_the_node_recovers(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    settings = node_settings(tmp_path, "http://testserver", postgres.url)
    with migrated_sessions(settings):
        pass
    app = create_app(settings, validate_responses=True)
    with app.test_client(client=("127.0.0.1", 40000)) as client:
        for path, (_, status) in DATABASE_BACKED.items():
            assert answer(client, path)[0] == status, path
        postgres.stop()
        for path, (api, _) in DATABASE_BACKED.items():
            status, retry_after, body = answer(client, path)
            assert (status, retry_after) == (503, "5"), (path, body)
            assert unavailable(api, body) == "the database is unavailable; retry later"
        permissions = client.get("/permissions")  # needs no database: never a 500
        assert permissions.status_code in (200, 503), permissions.text
        if permissions.status_code == 503:
            assert permissions.headers["retry-after"] == "5"
        assert client.get("/ready").status_code == 503
        postgres.start()
        for path, (_, status) in DATABASE_BACKED.items():
            assert answer(client, path)[0] == status, path
        assert client.get("/permissions").status_code == 200
        assert client.get("/ready").status_code == 200


def test_only_connection_failures_count_as_unavailable(tmp_path: Path, postgres_url: str) -> None:
    def raised(engine: Any, statement: str) -> DBAPIError:
        with pytest.raises(DBAPIError) as caught, engine.connect() as connection:
            connection.execute(text(statement))
        return caught.value

    postgres = make_engine(postgres_url)
    assert not database_unavailable(raised(postgres, "SELEC 1"))  # a wrong statement
    assert not database_unavailable(raised(postgres, "SELECT 1/0"))  # wrong data
    assert not database_unavailable(raised(postgres, "SELECT * FROM no_such_table"))
    postgres.dispose()
    refused = make_engine(f"postgresql://gdi@127.0.0.1:{free_port()}/postgres")
    assert database_unavailable(raised(refused, "SELECT 1"))
    refused.dispose()

    path = tmp_path / "busy.sqlite3"
    sqlite = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    assert not database_unavailable(raised(sqlite, "SELECT * FROM no_such_table"))
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the file
    try:
        assert database_unavailable(raised(sqlite, "CREATE TABLE t (x INTEGER)"))
    finally:
        holder.rollback()
        holder.close()
        sqlite.dispose()
    assert not database_unavailable(ValueError("not a database error"))

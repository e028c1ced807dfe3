"""Spec-first wiring: every document in openapi/ is mounted and every operationId resolves."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from connexion.exceptions import ResolverError

from gdi_node import apis
from gdi_node.apis import HtsgetParts, NodeRuntime, build_mounts
from gdi_node.app import OperationTableResolver, create_app
from gdi_node.app_errors import envelope_for
from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.errors import Envelope, ErrorReport
from gdi_node.observability import RequestMetrics
from gdi_node.passport.wiring import build_authorization
from gdi_node.resources import shipped_dir
from gdi_node.settings import Settings

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def mounts(settings: Settings) -> Iterator[list[apis.ApiMount]]:
    engine = make_engine(settings.effective_database_url)
    authorization = build_authorization(settings, make_session_factory(engine))
    started = datetime.now(UTC)
    htsget = HtsgetParts.build(settings, engine, authorization, started.isoformat())
    runtime = NodeRuntime(settings, engine, RequestMetrics(), started, authorization, htsget)
    yield build_mounts(runtime)
    authorization.close()
    engine.dispose()


def operation_ids(document: dict[str, Any]) -> set[str]:
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((shipped_dir("openapi") / name).read_text())
    return data


def test_every_openapi_document_is_mounted_once(mounts: list[apis.ApiMount]) -> None:
    on_disk = sorted(p.name for p in shipped_dir("openapi").glob("*.yaml"))
    assert sorted(m.document for m in mounts) == on_disk


def test_every_operation_id_resolves_through_its_table(mounts: list[apis.ApiMount]) -> None:
    for mount in mounts:
        ids = operation_ids(load(mount.document))
        assert ids == apis.document_operation_ids(mount.document)
        assert ids == set(mount.operations), mount.name
        resolver = OperationTableResolver(mount.name, dict(mount.operations))
        for operation_id in ids:
            assert callable(resolver.resolve_function_from_operation_id(operation_id))


def patch_node_operations(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None]
) -> None:
    """Make create_app see the node API's handler table altered by ``change``."""
    original = apis.build_mounts

    def altered(runtime: NodeRuntime) -> list[apis.ApiMount]:
        mounts = original(runtime)
        table = dict(mounts[-1].operations)
        change(table)
        mounts[-1] = dataclasses.replace(mounts[-1], operations=table)
        return mounts

    monkeypatch.setattr("gdi_node.app.build_mounts", altered)


def test_an_operation_id_without_handler_stops_start_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_node_operations(monkeypatch, lambda table: table.pop("getHealth"))
    with pytest.raises(apis.OperationTableError, match="getHealth"):
        create_app(settings)


def test_a_handler_without_operation_id_stops_start_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_node_operations(monkeypatch, lambda table: table.update(getNothing=lambda: None))
    with pytest.raises(apis.OperationTableError, match="getNothing"):
        create_app(settings)


def test_resolver_refuses_an_unknown_operation_id() -> None:
    with pytest.raises(ResolverError, match="nope"):
        OperationTableResolver("node", {}).resolve_function_from_operation_id("nope")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


@pytest.mark.parametrize("document", sorted(p.name for p in shipped_dir("openapi").glob("*.yaml")))
def test_openapi_documents_are_self_contained(document: str) -> None:
    remote = [ref for ref in _refs(load(document)) if not ref.startswith("#/")]
    assert remote == []


def test_error_envelope_is_chosen_by_the_longest_matching_base_path() -> None:
    def tagged(tag: str) -> Envelope:
        return lambda report: {"api": tag}

    mounts = [
        apis.ApiMount("drs", "d.yaml", "/ga4gh/drs/v1", {}, tagged("drs")),
        apis.ApiMount("node", "n.yaml", "", {}, tagged("node")),
    ]
    report = ErrorReport(404, "NotFound", "x")
    assert envelope_for("/ga4gh/drs/v1/objects/a", mounts)(report) == {"api": "drs"}
    assert envelope_for("/ga4gh/drs/v1", mounts)(report) == {"api": "drs"}
    assert envelope_for("/ga4gh/drs/v10/x", mounts)(report) == {"api": "node"}
    assert envelope_for("/anything", mounts)(report) == {"api": "node"}


def test_openapi_documents_are_served(client: Any) -> None:
    served = client.get("/openapi.json").json()
    assert served["info"]["title"] == load("node.yaml")["info"]["title"]


def test_repository_and_shipped_layout_agree() -> None:
    root = Path(__file__).resolve().parents[2]
    for name in ("openapi", "beacon", "htsget", "drs"):
        assert shipped_dir(name) == root / name

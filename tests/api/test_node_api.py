"""The node API (openapi/node.yaml): service-info, registry, health, readiness, metrics, errors.

Responses are validated against the document by connexion (validate_responses=True).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from gdi_node.app import create_app
from gdi_node.config.settings import Settings

SERVICE_INFO_REQUIRED = {"id", "name", "type", "organization", "version"}


def assert_registry_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == status
    assert body["errors"][0]["code"] == code
    assert body["message"]
    return body


def test_service_info_describes_the_node_as_a_service_registry(client: Any) -> None:
    response = client.get("/service-info")
    assert response.status_code == 200
    info = response.json()
    assert info.keys() >= SERVICE_INFO_REQUIRED
    assert info["type"] == {
        "group": "org.ga4gh",
        "artifact": "service-registry",
        "version": "1.0.0",
    }
    assert info["organization"]["name"]


def test_services_list_every_mounted_api_with_its_url_and_type(client: Any) -> None:
    services = client.get("/services").json()
    assert services, "the registry lists at least the node's own API"
    for service in services:
        assert SERVICE_INFO_REQUIRED | {"url"} <= service.keys()
        assert service["url"].startswith("http://node.test:8080")
    types = client.get("/services/types").json()
    listed = {
        f"{s['type']['group']}:{s['type']['artifact']}:{s['type']['version']}" for s in services
    }
    assert set(types) == listed
    assert all(re.fullmatch(r"org\.ga4gh:[a-z-]+:\d+\.\d+\.\d+", t) for t in types)


def test_one_service_is_found_by_id(client: Any) -> None:
    first = client.get("/services").json()[0]
    assert client.get(f"/services/{first['id']}").json() == first


def test_unknown_service_is_404_in_the_registry_error_envelope(client: Any) -> None:
    body = assert_registry_error(client.get("/services/no.such.service"), 404, "NotFound")
    assert "no.such.service" in body["message"]


def test_health_answers_without_touching_the_database(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(database_url="postgresql://nobody@127.0.0.1:9/none")
    with create_app(settings, validate_responses=True).test_client() as client:
        assert client.get("/health").json()["status"] == "ok"


def test_ready_when_database_is_reachable_and_migrated(client: Any) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    checks = {"database": "ok", "schema": "ok", "audit": "ok"}
    assert response.json() == {"status": "ok", "checks": checks}


def test_not_ready_when_database_is_not_migrated(settings: Settings) -> None:
    with create_app(settings, validate_responses=True).test_client() as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "schema": "failed", "audit": "ok"}


def test_not_ready_when_database_is_unreachable(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(database_url="postgresql://nobody@127.0.0.1:9/none")
    with create_app(settings, validate_responses=True).test_client() as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "failed", "schema": "failed", "audit": "ok"},
    }


def test_metrics_count_requests_per_operation_and_status(client: Any) -> None:
    client.get("/service-info")
    client.get("/service-info")
    client.get("/services/absent")
    client.get("/no/such/path")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'gdi_node_requests_total{method="GET",operation="getServiceInfo",status="200"} 2.0' in text
    )
    assert 'gdi_node_requests_total{method="GET",operation="getService",status="404"} 1.0' in text
    assert 'gdi_node_requests_total{method="GET",operation="unrouted",status="404"} 1.0' in text
    assert (
        'gdi_node_request_duration_seconds_count{operation="getServiceInfo",status="200"} 2.0'
        in text
    )


def test_every_response_carries_a_request_id(client: Any) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    kept = client.get("/health", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"]
    assert kept == "trace-42"
    unsafe = client.get("/health", headers={"X-Request-ID": "bad id\twith tab"})
    assert unsafe.headers["x-request-id"] != "bad id\twith tab"
    assert client.get("/nowhere").headers["x-request-id"]


def test_unknown_path_is_404_in_the_envelope(client: Any) -> None:
    assert_registry_error(client.get("/nowhere"), 404, "NotFound")


def test_wrong_method_is_405_in_the_envelope(client: Any) -> None:
    response = client.post("/service-info")
    assert_registry_error(response, 405, "MethodNotAllowed")
    assert "GET" in response.headers["allow"]


def test_unknown_query_parameter_is_refused_by_request_validation(client: Any) -> None:
    body = assert_registry_error(client.get("/services?colour=blue"), 400, "InvalidInput")
    assert "colour" in body["message"]


def test_unhandled_error_is_500_without_internal_details(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from gdi_node.node.service import NodeService

    def explode(_self: NodeService) -> list[dict[str, Any]]:
        raise RuntimeError("secret database password in message")

    monkeypatch.setattr(NodeService, "services", explode)
    response = client.get("/services")
    body = assert_registry_error(response, 500, "InternalError")
    assert "secret" not in response.text
    assert body["message"] == "internal server error"
    assert "secret database password" in caplog.text  # but the operator sees it in the log


@pytest.mark.parametrize("path", ["/services/a%0Ab", "/services/%0D%0A", "/service-info%00"])
def test_control_characters_in_the_path_are_refused_with_400(client: Any, path: str) -> None:
    body = assert_registry_error(client.get(path), 400, "InvalidInput")
    assert "control characters" in body["message"]


def test_igv_js_is_served_from_the_node_with_its_licence_and_is_the_tested_version(
    client: Any,
) -> None:
    """Issue 17: the demo's igv.html must draw offline, so igv.js comes from the node; it is
    the npm package the browser tests pin (tests/clients/igv/package.json), unmodified."""
    import json

    from tests.conftest import REPO_ROOT

    pinned = json.loads((REPO_ROOT / "tests/clients/igv/package.json").read_text())
    version = pinned["dependencies"]["igv"]
    script = client.get("/static/igv.min.js")
    licence = client.get("/static/igv.LICENSE")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert f'version:"{version}"'.encode() in script.content
    assert licence.text.startswith("The MIT License (MIT)")
    assert "Broad Institute" in licence.text
    assert_registry_error(client.get("/static/igv.min.js?v=1"), 400, "InvalidInput")

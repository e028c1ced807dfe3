"""Beacon operations are answered straight from the ASGI stack (gdi_node.web.direct, decision
record 0007): never through the Flask app, with connexion's request and response validation
still applied and the request read from the ASGI scope like Flask would read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask
import pytest

from gdi_node.app import create_app
from gdi_node.beacon.queries.service import BeaconService
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.web.request import Incoming
from tests.support.htsget_setup import node_settings

BEACON = "/ga4gh/beacon/v2"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    prepared = node_settings(tmp_path, "http://testserver")
    with migrated_sessions(prepared):
        pass
    return prepared


def test_beacon_operations_never_enter_the_flask_app(settings: Settings) -> None:
    app = create_app(settings, validate_responses=True)
    through_flask: list[str] = []
    app.app.before_request(lambda: through_flask.append(flask.request.path))
    with app.test_client() as client:
        assert client.get(f"{BEACON}/info").status_code == 200
        assert client.get(f"{BEACON}/g_variants?referenceName=22&start=1&end=9").status_code == 200
        posted = client.post(
            f"{BEACON}/g_variants",
            json={
                "query": {"requestParameters": {"referenceName": "22", "start": [1], "end": [9]}}
            },
        )
        assert posted.status_code == 200, posted.text
        assert client.get(f"{BEACON}/datasets/NOPE").json()["error"]["errorCode"] == 404
        assert client.get("/ga4gh/drs/v1/service-info").status_code == 200
    assert through_flask == ["/ga4gh/drs/v1/service-info"]


def test_direct_answers_are_still_validated_against_the_openapi_document(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BeaconService, "info", lambda self: {"meta": "not a Beacon document"})
    app = create_app(settings, validate_responses=True)
    with app.test_client() as client:
        response = client.get(f"{BEACON}/info")
    assert response.status_code == 500
    assert response.json()["error"]["errorCode"] == 500
    with create_app(settings).test_client() as client:  # the validator refused it, nothing else
        assert client.get(f"{BEACON}/info").json() == {"meta": "not a Beacon document"}


def test_direct_answers_are_still_validated_on_the_way_in(settings: Settings) -> None:
    app = create_app(settings, validate_responses=True)
    with app.test_client() as client:
        response = client.get(f"{BEACON}/g_variants?referenceName=22&start=x&end=9")
        posted = client.post(f"{BEACON}/g_variants", content=b"{not json", headers={
            "Content-Type": "application/json",
        })  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["errorCode"] == 400
    assert posted.status_code == 400


def test_the_request_read_from_the_asgi_scope_matches_what_flask_reads() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "query_string": b"geneId=BRAF&geneId=TP53&name=%C3%A6bler&blank=&filters=HP%3A0001250",
        "headers": [(b"host", b"node"), (b"authorization", b"Bearer abc.def")],
        "client": ("10.1.2.3", 40000),
    }
    request = Incoming.from_scope(scope)
    assert request.args == {
        "geneId": "BRAF", "name": "æbler", "blank": "", "filters": "HP:0001250",
    }  # fmt: skip
    assert (request.method, request.authorization, request.client_address) == (
        "GET", "Bearer abc.def", "10.1.2.3",
    )  # fmt: skip
    flask_app = flask.Flask(__name__)
    query = scope["query_string"].decode()
    with flask_app.test_request_context(f"/?{query}"):
        assert flask.request.args.to_dict(flat=True) == request.args
    bare = Incoming.from_scope({"type": "http", "method": "POST"})
    assert (bare.args, bare.authorization, bare.client_address) == ({}, None, None)

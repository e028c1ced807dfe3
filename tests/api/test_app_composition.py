"""The composition root: each API's ``mount(runtime)`` says how it is served, and the app only
lists the mounts (gdi_node.app, gdi_node.web.mounts, gdi_node.web.stack)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from gdi_node import app as composition
from gdi_node.app import APIS, build_mounts, create_app
from gdi_node.config.settings import Settings
from gdi_node.passport.wiring import build_authorization
from gdi_node.web import runtime as runtime_module
from gdi_node.web.mounts import ApiMount
from gdi_node.web.runtime import NodeRuntime
from gdi_node.web.stack import RUNTIME_KEY


@pytest.fixture
def mounts(settings: Settings) -> Iterator[list[ApiMount]]:
    runtime = NodeRuntime.create(settings)
    yield build_mounts(runtime)
    runtime.close()


def test_every_api_is_one_line_of_the_composition_and_the_node_api_comes_last(
    mounts: list[ApiMount],
) -> None:
    assert [m.name for m in mounts] == ["beacon", "drs", "htsget", "catalogue", "browser", "node"]
    assert len(APIS) == len(mounts) - 1
    assert mounts[-1].base_path == ""


def test_the_registry_lists_every_mount_in_order_at_its_base_path(
    mounts: list[ApiMount], client: Any
) -> None:
    listed = [(s["type"]["artifact"], s["url"]) for s in client.get("/services").json()]
    public_url = "http://node.test:8080"
    assert listed == [
        (m.service.type.artifact, public_url + m.base_path) for m in mounts if m.service
    ]
    # all but the catalogue, listed only when configured (tests/api/test_fdp_api.py), and the
    # frequency browser's web pages, which are no GA4GH service
    assert len(listed) == len(mounts) - 2


@pytest.mark.parametrize(
    ("path", "labelled"),
    [
        ("/ga4gh/beacon/v2/info", True),
        ("/ga4gh/drs/v1/service-info", True),
        ("/htsget/reads/service-info", True),
        ("/service-info", False),
    ],
)
def test_cors_covers_the_mounts_that_ask_for_it(client: Any, path: str, labelled: bool) -> None:
    response = client.get(path, headers={"Origin": "https://viewer.example"})
    assert response.status_code == 200
    assert ("access-control-allow-origin" in response.headers) is labelled


class _Job:
    def __init__(self, events: list[str], fail: bool = False) -> None:
        self.events = events
        self.fail = fail

    def start(self) -> None:
        self.events.append("start")
        if self.fail:
            raise OSError("address already in use")

    def stop(self) -> None:
        self.events.append("stop")


def _with_job(monkeypatch: pytest.MonkeyPatch, job: _Job) -> None:
    original = composition.build_mounts

    def with_job(runtime: NodeRuntime) -> list[ApiMount]:
        mounts = original(runtime)
        mounts[-1] = dataclasses.replace(mounts[-1], background=(job,))
        return mounts

    monkeypatch.setattr("gdi_node.app.build_mounts", with_job)


def test_background_jobs_live_as_long_as_the_app(
    migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    _with_job(monkeypatch, _Job(events))
    app = create_app(migrated_settings)
    runtime = app.app.config[RUNTIME_KEY]
    with app.test_client() as client:
        assert events == ["start"]
        assert client.get("/health").status_code == 200
    assert events == ["start", "stop"]
    assert not runtime.authorization.audit.health().alive


def test_a_job_that_cannot_start_stops_the_app_and_closes_the_runtime(
    migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_job(monkeypatch, _Job([], fail=True))
    app = create_app(migrated_settings)
    runtime = app.app.config[RUNTIME_KEY]
    with pytest.raises(OSError, match="address already in use"), app.test_client():
        pass
    assert not runtime.authorization.audit.health().alive


def test_the_runtime_closes_what_it_opened_when_a_later_step_fails(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []

    def recorded(*args: Any) -> Any:
        opened.append(build_authorization(*args))
        return opened[-1]

    def unreadable(_path: Any) -> bytes:
        raise PermissionError("the signing key cannot be read")

    monkeypatch.setattr(runtime_module, "build_authorization", recorded)
    monkeypatch.setattr(runtime_module, "load_or_create_secret", unreadable)
    with pytest.raises(PermissionError):
        NodeRuntime.create(settings)
    assert [stack.audit.health().alive for stack in opened] == [False]

"""The zero-copy data listener (``htsget.data_listener``): HTTP/1.1 behaviour of its own —
keep-alive, pipelining, HEAD, HTTP/1.0, malformed requests, disconnects, shared ports, shutdown.
What it shares with the main port's data endpoint (signatures, Range, CORS, transcoding) runs
in test_htsget_api.py against both."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdi_node.app import create_app
from gdi_node.config.settings import DataListenerSettings
from gdi_node.htsget.listener import DataListener
from gdi_node.web.observability import RequestMetrics
from tests.conftest import shared_path
from tests.support.htsget_setup import Registered, node_settings, register
from tests.support.processes import free_port


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    shared_path("data", "htsget")
    tmp = tmp_path_factory.mktemp("listener")
    settings = node_settings(tmp, "http://testserver")
    listener = DataListenerSettings(port=free_port(), idle_timeout_seconds=5)
    htsget = settings.htsget.model_copy(update={"data_listener": listener})
    return register(settings.model_copy(update={"htsget": htsget}), tmp / "store")


@pytest.fixture(scope="module")
def app_client(node: Registered) -> Iterator[Any]:
    with create_app(node.settings).test_client(client=("127.0.0.1", 40000)) as client:
        yield client


def data_url(app_client: Any, node: Registered, key: str = "bam", query: str = "") -> str:
    """The ticket's first URL, at the listener (transcoded slices are issued on the main port;
    the listener serves them too, which these tests check)."""
    datatype = "variants" if key in ("vcf", "bcf") else "reads"
    ticket = app_client.get(f"/htsget/{datatype}/{node.ids[key]}{query}").json()
    url: str = ticket["htsget"]["urls"][0]["url"]
    if "part=t%3A" in url:
        assert url.startswith(node.settings.public_url)
        return url.replace(node.settings.public_url, node.settings.data_base_url, 1)
    assert url.startswith(node.settings.data_base_url)
    return url


def raw_exchange(node: Registered, payload: bytes, *, read_until_close: bool = True) -> bytes:
    listener = node.settings.htsget.data_listener
    assert listener is not None
    with socket.create_connection((listener.host, listener.port), timeout=10) as sock:
        sock.sendall(payload)
        if not read_until_close:
            return sock.recv(65536)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def request_line(url: str, method: str = "GET", version: str = "1.1", extra: str = "") -> bytes:
    target = url.split("://", 1)[1].split("/", 1)[1]
    return f"{method} /{target} HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode()


def envelope(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["htsget"]["message"]
    assert response.json()["htsget"]["error"] == code
    return message


def test_ticket_urls_point_at_the_listener(app_client: Any, node: Registered) -> None:
    url = data_url(app_client, node)
    listener = node.settings.htsget.data_listener
    assert listener is not None
    assert url.startswith(f"http://127.0.0.1:{listener.port}/htsget/data/")
    assert httpx.get(url).content == node.paths["bam"].read_bytes()


def test_one_connection_carries_many_requests(app_client: Any, node: Registered) -> None:
    url = data_url(app_client, node)
    whole = node.paths["bam"].read_bytes()
    with httpx.Client() as client:
        for first in (0, 1000, 5000):
            response = client.get(url, headers={"Range": f"bytes={first}-{first + 99}"})
            assert response.status_code == 206
            assert response.content == whole[first : first + 100]
            assert response.headers["connection"] == "keep-alive"
        assert client.get(url).content == whole  # a whole body after ranged ones


def test_pipelined_requests_are_answered_in_order(app_client: Any, node: Registered) -> None:
    url = data_url(app_client, node)
    whole = node.paths["bam"].read_bytes()
    payload = (
        request_line(url, extra="Range: bytes=0-9\r\n")
        + request_line(url, extra="Range: bytes=10-19\r\n")
        + request_line(url, extra="Range: bytes=20-29\r\nConnection: close\r\n")
    )
    raw = raw_exchange(node, payload)
    assert raw.count(b"HTTP/1.1 206 Partial Content") == 3
    bodies = [part.split(b"\r\n\r\n", 1)[1][:10] for part in raw.split(b"HTTP/1.1 206")[1:]]
    assert bodies == [whole[0:10], whole[10:20], whole[20:30]]


def test_head_sends_headers_only(app_client: Any, node: Registered) -> None:
    url = data_url(app_client, node)
    response = httpx.head(url)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == node.paths["bam"].stat().st_size
    assert response.content == b""


def test_http_1_0_gets_the_body_then_the_connection_closes(
    app_client: Any, node: Registered
) -> None:
    url = data_url(app_client, node)
    raw = raw_exchange(node, request_line(url, version="1.0"))
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b"connection: close" in head.lower()
    assert body == node.paths["bam"].read_bytes()


def test_transcoded_slices_are_chunked_or_close_delimited(
    app_client: Any, node: Registered, tmp_path: Path
) -> None:
    import pysam

    url = data_url(app_client, node, "bcf", "?format=VCF")
    chunked = httpx.get(url)
    assert chunked.headers["transfer-encoding"] == "chunked"
    close_delimited = raw_exchange(node, request_line(url, version="1.0")).split(b"\r\n\r\n", 1)[1]
    assert close_delimited == chunked.content
    out = tmp_path / "slice.vcf.gz"
    out.write_bytes(chunked.content)
    with pysam.VariantFile(str(out)) as vcf:
        assert sum(1 for _ in vcf.fetch()) > 0


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("/elsewhere", 404, "NotFound"),
        ("/htsget/data/", 404, "NotFound"),
        ("/htsget/data/x?part=b%3A0-1&exp=1", 400, "InvalidInput"),
        ("/htsget/data/x?part=b%3A0-1&exp=soon&sig=abc", 400, "InvalidInput"),
        (f"/htsget/data/x?part=b%3A0-1&exp=1&sig={'a' * 129}", 400, "InvalidInput"),
        ("/htsget/data/x?part=b%3A0-1&exp=99999999999&sig=abc", 401, "InvalidAuthentication"),
    ],
)
def test_bad_requests_get_the_htsget_envelope(
    node: Registered, target: str, status: int, code: str
) -> None:
    response = httpx.get(f"{node.settings.data_base_url}{target}")
    envelope(response, status, code)
    assert response.headers["x-request-id"]


def test_other_methods_are_405_with_allow(app_client: Any, node: Registered) -> None:
    response = httpx.post(data_url(app_client, node))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    assert "not allowed" in response.json()["htsget"]["message"]


def test_malformed_http_is_400_and_the_connection_closes(node: Registered) -> None:
    raw = raw_exchange(node, b"GET /htsget/data/x HTTP/1.1\r\nbroken header line\r\n\r\n")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["htsget"]["error"] == "InvalidInput"


def test_a_request_body_beyond_64_kib_is_413(node: Registered) -> None:
    body = b"x" * (70 * 1024)
    payload = (
        f"GET /htsget/data/x HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    raw = raw_exchange(node, payload)
    assert raw.startswith(b"HTTP/1.1 413")
    assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["htsget"]["error"] == "PayloadTooLarge"


def test_a_client_leaving_midway_does_not_disturb_others(app_client: Any, node: Registered) -> None:
    url = data_url(app_client, node)
    for _ in range(5):
        first = raw_exchange(node, request_line(url), read_until_close=False)
        assert first.startswith(b"HTTP/1.1 200")  # then the socket is closed unread
    assert httpx.get(url).content == node.paths["bam"].read_bytes()


def _logged(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "request_id", None) == request_id]


def test_requests_are_counted_and_logged(
    app_client: Any, node: Registered, caplog: pytest.LogCaptureFixture
) -> None:
    url = data_url(app_client, node)
    with caplog.at_level("INFO", logger="gdi_node.access"):
        httpx.get(url, headers={"X-Request-ID": "trace-42"})
        # The listener writes the access line once the body is sent, in its own thread: the
        # client can have the whole response before that. The deadline only stops a hang.
        deadline = time.monotonic() + 10
        while not (logged := _logged(caplog, "trace-42")) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert logged, "no access line for the request"
    entry = logged[0]
    assert entry.fields["listener"] == "data"  # type: ignore[attr-defined]
    assert entry.fields["status"] == 200  # type: ignore[attr-defined]
    metrics = app_client.get("/metrics").text
    assert 'gdi_node_requests_total{method="GET",operation="getData",status="200"}' in metrics


def test_workers_share_the_port(app_client: Any, node: Registered, data_service: Any) -> None:
    """A second listener on the same port (as a second worker would start) binds and serves."""
    config = node.settings.htsget.data_listener
    assert config is not None
    second = DataListener(data_service, config, cors_max_age=60, metrics=RequestMetrics())
    second.start()
    try:
        url = data_url(app_client, node)
        for _ in range(8):
            with httpx.Client() as fresh:  # new connections, spread by the kernel
                assert fresh.get(url, headers={"Range": "bytes=0-3"}).status_code == 206
    finally:
        second.stop()
    assert httpx.get(url, headers={"Range": "bytes=0-3"}).status_code == 206


def test_a_port_taken_by_another_program_fails_start(data_service: Any) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = DataListenerSettings(port=blocker.getsockname()[1])
        listener = DataListener(data_service, taken, cors_max_age=60, metrics=RequestMetrics())
        with pytest.raises(OSError, match="address already in use"):
            listener.start()


def test_stop_does_not_wait_for_idle_connections(data_service: Any) -> None:
    config = DataListenerSettings(port=free_port(), idle_timeout_seconds=60)
    grace = 60  # what stop gives a busy connection: an idle one taken for busy would get it all
    listener = DataListener(
        data_service, config, cors_max_age=60, metrics=RequestMetrics(), grace_seconds=grace
    )
    listener.start()
    with socket.create_connection((config.host, config.port), timeout=10) as idle:
        idle.sendall(b"GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 404")
        started = time.monotonic()
        listener.stop()
        # Not a speed check: the bound only tells "did not wait out the grace" from "did".
        assert time.monotonic() - started < grace / 2
        assert idle.recv(65536) == b""  # closed by the listener
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{config.base_url}/elsewhere")


@pytest.fixture(scope="module")
def data_service(node: Registered) -> Iterator[Any]:
    """The node's DataService, built as create_app builds it, for extra listeners."""
    from gdi_node.htsget.api import services
    from gdi_node.web.runtime import NodeRuntime

    runtime = NodeRuntime.create(node.settings)
    yield services(runtime)[1]
    runtime.close()

"""``gdi-node serve`` as a real process: uvicorn workers, JSON logs, graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from gdi_node.config.settings import Settings
from tests.support.processes import free_port, running_node, write_config

pytestmark = pytest.mark.slow


def test_serve_answers_and_logs_json_with_request_id_on_every_request_line(
    tmp_path: Path, make_settings: Callable[..., Settings], database_url: str
) -> None:
    port = free_port()
    config = write_config(tmp_path / "node.yaml", make_settings(database_url=database_url), port)
    with running_node(["--config", str(config), "serve"], port, tmp_path) as node:
        info = httpx.get(f"{node.base_url}/service-info").json()
        assert info["type"]["artifact"] == "service-registry"
        reply = httpx.get(f"{node.base_url}/services", headers={"X-Request-ID": "abc-123"})
        assert reply.headers["x-request-id"] == "abc-123"
        assert node.stop() == 0
        records = [json.loads(line) for line in node.log_lines()]
    access = [r for r in records if r["logger"] == "gdi_node.access"]
    assert access, "one access line per request"
    assert all(r["request_id"] for r in access)
    assert {"method", "path", "status", "operation", "duration_ms"} <= access[-1].keys()
    services_line = next(r for r in access if r["path"] == "/services")
    assert services_line["request_id"] == "abc-123"
    assert services_line["operation"] == "listServices"
    assert any("database ready at revision" in r["message"] for r in records)


def test_serve_options_override_the_configuration_and_run_two_workers(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    port = free_port()
    config = write_config(tmp_path / "node.yaml", make_settings(), 1)
    args = ["--config", str(config), "serve", "--port", str(port), "--workers", "2"]
    with running_node(args, port, tmp_path) as node:
        statuses = {httpx.get(f"{node.base_url}/health").status_code for _ in range(20)}
        assert statuses == {200}
        assert node.stop() == 0
        text = "\n".join(node.log_lines())
    assert text.count("Started server process") == 2


def test_sigterm_lets_in_flight_requests_finish(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    port = free_port()
    config = write_config(tmp_path / "node.yaml", make_settings(), port)
    with running_node(["--config", str(config), "serve"], port, tmp_path) as node:
        results: list[int] = []

        def many_requests() -> None:
            with httpx.Client(base_url=node.base_url) as client:
                for _ in range(200):
                    try:
                        results.append(client.get("/metrics").status_code)
                    except httpx.TransportError:
                        return

        worker = threading.Thread(target=many_requests)
        worker.start()
        time.sleep(0.3)
        code = node.stop(signal.SIGTERM)
        worker.join(timeout=30)
    assert code == 0
    assert results
    assert set(results) == {200}, "no request was cut off with an error status"


def test_two_workers_share_the_data_listener_and_stop_cleanly(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    port, data_port = free_port(), free_port()
    config = write_config(tmp_path / "node.yaml", make_settings(), port)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["server"]["workers"] = 2
    data["htsget"]["data_listener"] = {"port": data_port}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with running_node(["--config", str(config), "serve"], port, tmp_path) as node:
        for _ in range(20):  # fresh connections, spread over both workers by the kernel
            reply = httpx.get(f"http://127.0.0.1:{data_port}/htsget/data/none?part=x&exp=1&sig=x")
            assert reply.status_code == 401
        assert node.stop() == 0  # within stop's 30 s guard against hanging
        lines = node.log_lines()
    assert sum("data listener on" in line for line in lines) == 2


def test_a_worker_that_crashes_natively_leaves_its_python_stacks_in_the_log(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    port = free_port()
    config = write_config(tmp_path / "node.yaml", make_settings(), port)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["server"]["workers"] = 2  # a supervisor that outlives the crashed worker
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with running_node(["--config", str(config), "serve"], port, tmp_path) as node:
        children = Path(f"/proc/{node.process.pid}/task/{node.process.pid}/children")
        workers = [
            int(pid)
            for pid in children.read_text().split()
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        os.kill(workers[0], signal.SIGSEGV)
        deadline = time.monotonic() + 30
        while "Fatal Python error: Segmentation fault" not in "\n".join(node.log_lines()):
            assert time.monotonic() < deadline, "no fault report in the log"
            time.sleep(0.2)
        text = "\n".join(node.log_lines())
    assert "Current thread" in text or "Thread 0x" in text  # the Python stacks of the worker


def test_serve_refuses_an_invalid_configuration_with_the_key_named(tmp_path: Path) -> None:
    import subprocess

    from tests.support.processes import GDI_NODE

    config = tmp_path / "bad.yaml"
    config.write_text("server:\n  port: 0\n", encoding="utf-8")
    result = subprocess.run(
        [str(GDI_NODE), "--config", str(config), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "server.port" in result.stderr
    assert "greater than or equal to 1" in result.stderr

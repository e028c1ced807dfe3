"""Grants of file bytes are in the audit trail before the answer leaves (issue #15 item 8,
decision record 0015): a served node with two workers is killed with SIGKILL under concurrent
controlled-file requests; after a restart every grant a client received is in the trail and the
chain verifies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from gdi_node.passport.local_issuer import LocalIssuer
from tests.conftest import shared_path
from tests.support.htsget_setup import node_settings, register
from tests.support.processes import (
    GDI_NODE,
    free_port,
    running_node,
    wait_until_ready,
    write_config,
)

pytestmark = pytest.mark.slow

CLIENTS = 8
MAX_REQUESTS_PER_CLIENT = 2_000  # bounded: the kill comes long before this
GRANTS_BEFORE_KILL = 150


def grant_urls(base: str, object_id: str) -> list[str]:
    """Requests whose 200 answer is a file-level grant: a DRS access URL, a DRS object with
    its access methods, an htsget ticket."""
    return [
        f"{base}/ga4gh/drs/v1/objects/{object_id}/access/https",
        f"{base}/ga4gh/drs/v1/objects/{object_id}",
        f"{base}/htsget/reads/{object_id}?referenceName=11",
    ]


def hammer(urls: list[str], token: str, name: str, received: list[str]) -> None:
    """Ask for grants until the node goes away; remember the request id of every 200."""
    with httpx.Client(timeout=10) as http:
        for i in range(MAX_REQUESTS_PER_CLIENT):
            request_id = f"{name}-{i}"
            headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request_id}
            try:
                reply = http.get(urls[i % len(urls)], headers=headers)
            except httpx.TransportError:
                return
            assert reply.status_code == 200, reply.text
            received.append(request_id)


def test_every_file_grant_a_client_received_survives_a_kill_9_of_the_node(
    tmp_path: Path, database_url: str
) -> None:
    shared_path("data", "htsget")
    port = free_port()
    settings = node_settings(tmp_path, f"http://127.0.0.1:{port}", database_url)
    object_id = register(settings, tmp_path / "store").ids["ctrl_bam"]
    config = write_config(tmp_path / "node.yaml", settings, port)
    token = LocalIssuer.for_settings(settings).passport(settings, "fault-user", ["CTRL"], ttl=900)
    base = f"http://127.0.0.1:{port}"

    log = (tmp_path / "killed-node.log").open("w", encoding="utf-8")
    node = subprocess.Popen(
        [str(GDI_NODE), "--config", str(config), "serve", "--workers", "2"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches every worker at once
    )
    received: list[str] = []
    try:
        wait_until_ready(base, node)
        clients = [
            threading.Thread(
                target=hammer, args=(grant_urls(base, object_id), token, f"c{n}", received)
            )
            for n in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 120
        while len(received) < GRANTS_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(node.pid, signal.SIGKILL)
        node.wait(timeout=30)
        for client in clients:
            client.join(timeout=60)
    finally:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait(timeout=30)
        log.close()
    assert len(received) >= GRANTS_BEFORE_KILL, "the clients got too few grants to test"

    with running_node(["--config", str(config), "serve"], port, tmp_path) as restarted:
        assert httpx.get(f"{restarted.base_url}/ready").status_code == 200
    verify = subprocess.run(
        [str(GDI_NODE), "--config", str(config), "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    export = subprocess.run(
        [str(GDI_NODE), "--config", str(config), "audit", "export"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in export.stdout.splitlines()]
    granted = {
        row["request_id"]
        for row in rows
        if row["decision"] == "allow" and row["dataset_id"] == "CTRL"
    }
    missing = sorted(set(received) - granted)
    assert not missing, f"{len(missing)} of {len(received)} grants are not in the trail"

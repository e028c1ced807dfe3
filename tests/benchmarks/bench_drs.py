"""Benchmark: DRS single-object latency, bulk resolution of 1,000 ids, https download throughput.

Run with ``scripts/bench drs`` (or ``python -m tests.benchmarks.bench_drs``). Needs ``wrk`` and
``curl``. A fresh node registers 1,000 small VCF files (copies of one shared test file, each
with its index: 2,000 blobs and 1,000 bundles) plus the synthetic 1.1 GB BAM of
``bench_htsget`` (generated once into ``$GDI_NODE_BENCH_CACHE``), and serves them with
``gdi-node serve`` (1 worker, SQLite) on loopback.

Measured, printed as one table:

* ``GET /objects/{id}`` for random ids with wrk at 1 and 16 connections: p50, p99, requests/s;
* ``POST /objects`` with 1,000 ids (50 requests, one at a time): server-side time from the node's
  access log (goal p50 <= 100 ms) and the client's round trip; the same for
  ``POST /objects/access`` with 1,000 signed URLs;
* the whole BAM fetched with curl from its ``https`` access URL (main port, and the zero-copy
  data listener), MB/s (median of 3).
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from gdi_node.bootstrap import open_ingestor
from tests.benchmarks.bench_htsget import (  # shared helpers
    _WRK_SCRIPT,
    cells,
    curl_command,
    print_table,
    progress,
    run_wrk,
    synthetic_bam,
)
from tests.support.htsget_setup import SHARED_HTSGET, node_settings
from tests.support.processes import free_port, running_node

OBJECTS = 1000
BULK_REQUESTS = 50
WRK_SECONDS = 10
DOWNLOADS = 3
MB = 1e6
SEED = 20241122


def register_objects(settings: Any, store: Path, bam: Path) -> tuple[list[str], str]:
    """1,000 small VCF copies with indexes, and the big BAM; their object ids."""
    source = SHARED_HTSGET / "vcf" / "spec-v4.3.vcf.gz"
    store.mkdir(parents=True)
    paths = []
    for n in range(OBJECTS):
        target = store / f"sample-{n:05d}.vcf.gz"
        shutil.copy(source, target)
        shutil.copy(f"{source}.tbi", f"{target}.tbi")
        paths.append(target)
    with open_ingestor(settings) as ingestor:
        ids = [r.object_id for r in ingestor.ingest(paths, "OPEN")]
        bam_id = ingestor.ingest([bam], "OPEN")[0].object_id
    return ids, bam_id


def server_times(log: Path, operation: str) -> list[float]:
    """``duration_ms`` of every access-log line of ``operation``."""
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if f'"operation": "{operation}"' in line:
            out.append(float(json.loads(line)["duration_ms"]))
    return out


def bulk_rows(node: Any, ids: list[str]) -> list[str]:
    rows = []
    cases = (
        ("GetBulkObjects", "/objects", {"bulk_object_ids": ids}),
        (
            "GetBulkAccessURL",
            "/objects/access",
            {
                "bulk_object_access_ids": [
                    {"bulk_object_id": i, "bulk_access_ids": ["https"]} for i in ids
                ]
            },
        ),
    )
    with httpx.Client(base_url=f"{node.base_url}/ga4gh/drs/v1", timeout=60) as client:
        for operation, path, body in cases:
            round_trips = []
            for _ in range(BULK_REQUESTS + 3):
                started = time.perf_counter()
                reply = client.post(path, json=body)
                round_trips.append((time.perf_counter() - started) * 1000)
                if reply.status_code != 200 or reply.json()["summary"]["resolved"] != len(ids):
                    raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:300]}")
            time.sleep(0.5)  # let the access log reach the file
            server = server_times(node.log_path, operation)[3:]  # the first 3 warm caches
            round_trips = round_trips[3:]
            rows.append(
                cells(
                    f"{operation}: {len(ids)} ids, server side ({len(server)}x)",
                    1,
                    f"p50 {statistics.median(server):.1f} ms, p99 {_p99(server):.1f} ms",
                    "",
                    "",
                    "p50 <= 100 ms",
                )
            )
            rows.append(
                cells(
                    f"{operation}: {len(ids)} ids, client round trip",
                    1,
                    f"p50 {statistics.median(round_trips):.1f} ms, p99 {_p99(round_trips):.1f} ms",
                    "",
                    "",
                    "",
                )
            )
    return rows


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def single_rows(node: Any, ids: list[str], workdir: Path) -> list[str]:
    rng = random.Random(SEED)
    paths = [f"/ga4gh/drs/v1/objects/{rng.choice(ids)}" for _ in range(300)]
    script = workdir / "objects.lua"
    script.write_text(_WRK_SCRIPT % ",\n".join(json.dumps(p) for p in paths), encoding="utf-8")
    run_wrk(node.base_url, script, 4, 2)
    rows = []
    for connections in (1, 16):
        result = run_wrk(node.base_url, script, connections, WRK_SECONDS)
        rate = result.requests / result.seconds
        note = f"{result.bad_status} non-2xx" if result.bad_status or result.socket_errors else ""
        rows.append(
            cells(
                f"GET /objects/{{id}}, random ids, {connections} conn.",
                1,
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {rate:.0f}/s",
                "",
                "",
                note,
            )
        )
    return rows


def download_row(node: Any, bam_id: str, size: int, where: str) -> str:
    with httpx.Client(base_url=f"{node.base_url}/ga4gh/drs/v1", timeout=60) as client:
        url = client.get(f"/objects/{bam_id}/access/https").json()["url"]
    speeds = []
    for _ in range(DOWNLOADS + 1):
        started = time.perf_counter()
        done = subprocess.run(curl_command(url), capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - started
        code, got = done.stdout.split()
        if code != "200" or int(got) != size:
            raise RuntimeError(f"download: HTTP {code}, {got} bytes")
        speeds.append(size / MB / elapsed)
    median = statistics.median(speeds[1:])
    return cells(
        f"https access URL: whole BAM ({size / MB:.0f} MB), curl",
        f"1, {where}",
        f"{median:.0f} MB/s",
        "",
        "",
        "",
    )


def serve(settings: Any, workdir: Path, listener: bool) -> Any:
    port = free_port()
    data = settings.model_dump(mode="json")
    data["public_url"] = f"http://127.0.0.1:{port}"
    data["server"] |= {"port": port, "workers": 1}
    data["logging"] |= {"level": "INFO", "format": "json"}
    if listener:
        data["htsget"]["data_listener"] = {"port": free_port()}
    path = workdir / f"node-{port}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return running_node(["--config", str(path), "serve"], port, workdir)


def main() -> None:
    missing = [tool for tool in ("wrk", "curl") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"bench_drs needs {', '.join(missing)}: apt-get install -y wrk curl")
    started = time.monotonic()
    bam, _, _ = synthetic_bam()
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-drs-") as tmp:
        workdir = Path(tmp)
        settings = node_settings(workdir, "http://127.0.0.1:8080")
        progress(f"registering {OBJECTS} objects and the BAM")
        began = time.perf_counter()
        ids, bam_id = register_objects(settings, workdir / "store", bam)
        register_s = time.perf_counter() - began
        with serve(settings, workdir, listener=False) as node:
            progress("single objects")
            rows += single_rows(node, ids, workdir)
            progress("bulk")
            rows += bulk_rows(node, ids)
            progress("download, main port")
            rows.append(download_row(node, bam_id, bam.stat().st_size, "main"))
        with serve(settings, workdir, listener=True) as node:
            progress("download, data listener")
            rows.append(download_row(node, bam_id, bam.stat().st_size, "data"))
    print(
        f"\nDRS: {OBJECTS} VCF objects (+ indexes, bundles) and a {bam.stat().st_size / MB:.0f} MB"
        f" BAM on SQLite, 1 worker, loopback; registered in {register_s:.0f} s;"
        f" run took {time.monotonic() - started:.0f} s"
    )
    print_table(("case", "workers", "gdi-node", "", "", "goal"), rows)


if __name__ == "__main__":
    main()

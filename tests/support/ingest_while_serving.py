"""A real ``gdi-node serve`` (two workers) answering Beacon, DRS and htsget requests while a
real ``gdi-node ingest vcf`` loads a synthetic cohort in another process.

Shared by the test that every answer stays 200 during a load
(tests/api/test_ingest_while_serving.py) and by the benchmark that measures the latencies
(tests/benchmarks/bench_ingest_while_serving.py).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, select

import gdi_node
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions, open_ingestor
from gdi_node.config.settings import Settings
from gdi_node.db.engine import normalise_url
from gdi_node.db.models import AuditRecord
from gdi_node.demo.synthetic import generate_demo_data
from tests.benchmarks.beacon_cohort import generate_cohort
from tests.support.processes import GDI_NODE, free_port, running_node

BEACON = "/ga4gh/beacon/v2"
LOADED = "NATIONAL"  # the dataset the cohort is loaded into while the node serves
LOADED_COUNT = "beacon count"  # the count of the loaded dataset's chromosome 1
# the subprocesses run the code the caller imported (a worktree's, not an installed copy)
CODE = {"PYTHONPATH": str(Path(gdi_node.__file__).resolve().parents[1])}


@dataclass
class Prepared:
    settings: Settings
    config: Path
    port: int
    cohort: Path
    objects: dict[str, str]  # "bam", "vcf" -> DRS object id


@dataclass
class Answer:
    kind: str
    status: int
    seconds: float
    request_id: str
    detail: str  # the start of the body of an answer that is not 200
    total: int | None  # a Beacon answer's numTotalResults


@dataclass
class Report:
    answers: list[Answer]
    ingest_seconds: float
    ingest_output: str
    verify_output: str
    verify_code: int
    node_log: str
    shown_total: int  # the loaded dataset's count once the load is done
    audited_request_ids: set[str] = field(default_factory=set)

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def percentile(self, share: float) -> float:
        ordered = sorted(a.seconds for a in self.answers)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def totals_seen_while_loading(self) -> set[int | None]:
        """The loaded dataset's counts answered while the load ran."""
        return {a.total for a in self.answers if a.kind == LOADED_COUNT and a.status == 200}

    def unaudited(self) -> list[Answer]:
        """Answered requests that left no decision in the audit trail."""
        return [a for a in self.answers if a.request_id not in self.audited_request_ids]


def prepare(tmp: Path, database_url: str | None, *, variants: int, samples: int) -> Prepared:
    """Settings, the database migrated, the demo's files registered (DRS, htsget) and its VCF
    loaded into OPEN, and the synthetic cohort BCF (``variants`` x ``samples``) that the load
    will write into NATIONAL."""
    port = free_port()
    settings = Settings.model_validate(
        {
            "data_dir": tmp / "data",
            "database_url": database_url,
            "public_url": f"http://127.0.0.1:{port}",
            "datasets": [
                {"id": "OPEN", "name": "Open test data", "security_level": "PUBLIC"},
                {"id": "CTRL", "name": "Controlled test data", "security_level": "CONTROLLED"},
                {"id": LOADED, "name": "Loaded while serving", "security_level": "PUBLIC"},
            ],
            "server": {"port": port, "workers": 2},
            "logging": {"level": "WARNING", "format": "json"},
            "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8"]}},
            # one client address sends everything: a budget it never exhausts, still kept
            "beacon": {"budget": {"units": 10**12}},
        }
    )
    files = generate_demo_data(tmp / "demo")
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(files.vcf, "OPEN", sample_sheet=files.samples)
    with open_ingestor(settings) as ingestor:
        objects = {
            "bam": ingestor.ingest([files.bam], "OPEN")[0].object_id,
            "vcf": ingestor.ingest([files.vcf], "OPEN")[0].object_id,
        }
    config = tmp / "node.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
    cohort = generate_cohort(tmp / "cohort.bcf", variants, samples).path
    return Prepared(settings, config, port, cohort, objects)


def _requests(prepared: Prepared) -> list[tuple[str, str]]:
    """(kind, path) of the requests the clients cycle through."""
    # the whole of chromosome 1, which the load writes first, in several steps
    counted = "referenceName=1&start=0&end=250000000&requestedGranularity=count"
    recorded = "referenceName=1&start=1000000&end=3000000&requestedGranularity=record&limit=5"
    return [
        (LOADED_COUNT, f"{BEACON}/datasets/{LOADED}/g_variants?{counted}"),
        ("beacon all", f"{BEACON}/g_variants?{counted}"),
        ("beacon record", f"{BEACON}/g_variants?{recorded}"),
        ("drs", f"/ga4gh/drs/v1/objects/{prepared.objects['vcf']}"),
        (
            "htsget",
            f"/htsget/reads/{prepared.objects['bam']}?referenceName=chr1&start=1000&end=30000",
        ),
    ]


def _client_loop(
    base_url: str,
    requests: list[tuple[str, str]],
    done: threading.Event,
    out: list[Answer],
    limit: int,
    offset: int,
) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        n = offset
        while not done.is_set() and len(out) < limit:
            kind, path = requests[n % len(requests)]
            n += 1
            request_id = uuid.uuid4().hex
            began = time.perf_counter()
            try:
                reply = client.get(path, headers={"X-Request-ID": request_id})
            except httpx.TransportError as exc:  # counted as status 0
                out.append(
                    Answer(kind, 0, time.perf_counter() - began, request_id, repr(exc), None)
                )
                continue
            seconds = time.perf_counter() - began
            detail = "" if reply.status_code == 200 else reply.text[:300]
            total = None
            if kind.startswith("beacon") and reply.status_code == 200:
                total = int(reply.json()["responseSummary"].get("numTotalResults", -1))
            out.append(Answer(kind, reply.status_code, seconds, request_id, detail, total))


def run(prepared: Prepared, *, clients: int = 4, limit: int = 20_000) -> Report:
    """Serve, load the cohort in another process, query meanwhile (at most ``limit``
    requests in all); then stop the node and verify the audit trail."""
    config = ["--config", str(prepared.config)]
    workdir = prepared.config.parent
    answers: list[Answer] = []
    with running_node([*config, "serve"], prepared.port, workdir, env=CODE) as node:
        done = threading.Event()
        requests = _requests(prepared)
        threads = [
            threading.Thread(
                target=_client_loop,
                args=(node.base_url, requests, done, answers, limit, i),
            )
            for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        began = time.perf_counter()
        loading = subprocess.run(
            [str(GDI_NODE), *config, "ingest", "vcf", str(prepared.cohort), "--dataset", LOADED],
            capture_output=True,
            text=True,
            cwd=workdir,
            env={**os.environ, **CODE},
            timeout=1800,
            check=False,
        )
        ingest_seconds = time.perf_counter() - began
        done.set()
        for thread in threads:
            thread.join(timeout=120)
        shown = httpx.get(node.base_url + requests[0][1], timeout=60).json()
        node.stop()
        node_log = "\n".join(node.log_lines())
    if loading.returncode != 0:
        raise RuntimeError(f"the load failed: {loading.stdout}{loading.stderr}")
    verify = subprocess.run(
        [str(GDI_NODE), *config, "audit", "verify"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env={**os.environ, **CODE},
        timeout=600,
        check=False,
    )
    return Report(
        answers=answers,
        ingest_seconds=ingest_seconds,
        ingest_output=loading.stdout + loading.stderr,
        verify_output=verify.stdout + verify.stderr,
        verify_code=verify.returncode,
        node_log=node_log,
        shown_total=int(shown["responseSummary"]["numTotalResults"]),
        audited_request_ids=_audited(prepared.settings),
    )


def _audited(settings: Settings) -> set[str]:
    engine = create_engine(normalise_url(settings.effective_database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(AuditRecord.request_id).where(AuditRecord.request_id.is_not(None))
            )
            found = {str(r[0]) for r in rows}
    finally:
        engine.dispose()
    return found


def summary(report: Report) -> dict[str, Any]:
    """What the benchmark prints: requests, errors by status, p50/p99, the load's time."""
    errors = {s: n for s, n in sorted(report.statuses().items()) if s != 200}
    return {
        "requests": len(report.answers),
        "errors": errors,
        "p50_ms": round(report.percentile(0.50) * 1000, 1),
        "p99_ms": round(report.percentile(0.99) * 1000, 1),
        "max_ms": round(max((a.seconds for a in report.answers), default=0) * 1000, 1),
        "ingest_s": round(report.ingest_seconds, 1),
        "unaudited": len(report.unaudited()),
        "counts_seen": sorted(t for t in report.totals_seen_while_loading() if t is not None),
        "shown_total": report.shown_total,
        "audit_verify": report.verify_output.strip(),
    }

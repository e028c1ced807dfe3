"""Benchmark: the node under mixed load while a VCF loads (issue #15, "Proof").

Run with ``scripts/bench load`` (or ``python -m tests.benchmarks.bench_load``). For SQLite and
then PostgreSQL (a throw-away server on loopback, as the test suite starts it):

* a node with the shared htsget files (a controlled BAM copy among them) and the 1000 Genomes
  test VCF in the Beacon, served by ``gdi-node serve`` with 2 workers on loopback;
* 64 clients for 60 s (``GDI_NODE_BENCH_LOAD_SECONDS``), each cycling through Beacon counts
  (GET) and controlled record answers (POST, durable audit), htsget tickets and a signed data
  URL, DRS objects and access URLs, and ``GET``/``POST /permissions``; bounded by time and by
  ``MAX_PER_CLIENT`` requests, loopback only;
* meanwhile ``gdi-node ingest vcf`` loads a synthetic cohort into its own dataset and, when it
  finishes, replaces it (``--update``) with a second cohort of other genotypes under the same
  file name, and so on: a real load runs throughout (both generated once into
  ``$GDI_NODE_BENCH_CACHE``).

Printed per database: requests, answers by status and p50/p99 per request kind, and the loads
that completed. Exits non-zero if any answer was a 5xx (or a request failed at transport level),
and afterwards checks the audit chain with ``gdi-node audit verify``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.passport.local_issuer import LocalIssuer
from tests.benchmarks.beacon_cohort import generate_cohort
from tests.benchmarks.bench_htsget import CACHE, progress
from tests.support.htsget_setup import node_settings, register
from tests.support.processes import GDI_NODE, free_port, running_node, write_config

ROOT = Path(__file__).resolve().parents[2]
SHARED_VCF = ROOT.parent / "shared" / "data" / "vcf" / "test_1000G_hg38.vcf.gz"
CLIENTS = 64
SECONDS = float(os.environ.get("GDI_NODE_BENCH_LOAD_SECONDS", "60"))
MAX_PER_CLIENT = 20_000
LOAD_VARIANTS = 300_000
LOAD_SAMPLES = 200
BEACON = "/ga4gh/beacon/v2"


@dataclass
class Observed:
    """Answers per request kind: statuses and latencies."""

    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, status: str, elapsed: float) -> None:
        self.statuses[kind][status] += 1
        self.seconds[kind].append(elapsed)

    def server_errors(self) -> int:
        return sum(
            n
            for counts in self.statuses.values()
            for status, n in counts.items()
            if not status.isdigit() or status.startswith("5")
        )


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    url: str
    headers: dict[str, str]
    json: object | None = None


def node_with_data(tmp: Path, port: int, database_url: str | None) -> tuple[Settings, list[Call]]:
    """Settings of a node with data registered, and the request mix the clients cycle."""
    settings = node_settings(tmp, f"http://127.0.0.1:{port}", database_url)
    datasets = (
        *settings.datasets,
        settings.datasets[0].model_copy(update={"id": "LOAD", "name": "Loaded under load"}),
    )
    budget = settings.beacon.budget.model_copy(update={"units": 10**12})
    settings = settings.model_copy(
        update={
            "datasets": datasets,
            "beacon": settings.beacon.model_copy(update={"budget": budget}),
        }
    )
    ids = register(settings, tmp / "store").ids
    with migrated_sessions(settings) as sessions:
        VcfIngestor(sessions).ingest(SHARED_VCF, "OPEN")
    token = LocalIssuer.for_settings(settings).passport(settings, "load-user", ["CTRL"], ttl=7200)
    bearer = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}"
    record_body = {
        "meta": {"apiVersion": "v2.0"},
        "query": {
            "requestParameters": {
                "referenceName": "22",
                "start": [16_000_000],
                "end": [17_000_000],
            },
            "requestedGranularity": "record",
            "pagination": {"skip": 0, "limit": 10},
        },
    }
    ctrl = ids["ctrl_bam"]
    calls = [
        Call("beacon count (GET)", "GET",
             f"{base}{BEACON}/g_variants?referenceName=22&start=16000000&end=18000000"
             "&requestedGranularity=count", {}),
        Call("beacon record, controlled (POST)", "POST", f"{base}{BEACON}/g_variants", bearer,
             record_body),
        Call("htsget ticket, controlled", "GET", f"{base}/htsget/reads/{ctrl}?referenceName=11",
             bearer),
        Call("drs object, controlled", "GET", f"{base}/ga4gh/drs/v1/objects/{ctrl}", bearer),
        Call("drs access URL, controlled", "GET",
             f"{base}/ga4gh/drs/v1/objects/{ctrl}/access/https", bearer),
        Call("permissions (GET)", "GET", f"{base}/permissions", bearer),
        Call("permissions (POST)", "POST", f"{base}/permissions", {}, {"passports": [token]}),
    ]  # fmt: skip
    return settings, calls


def with_data_url(calls: list[Call], base: str) -> list[Call]:
    """Add a signed htsget data URL (from one ticket) to the mix."""
    ticket = next(c for c in calls if c.kind.startswith("htsget ticket"))
    answer = httpx.get(ticket.url, headers=ticket.headers, timeout=30)
    answer.raise_for_status()
    first = answer.json()["htsget"]["urls"][0]
    if not first["url"].startswith(base):
        return calls
    return [*calls, Call("htsget data URL", "GET", first["url"], first.get("headers", {}))]


async def client(http: httpx.AsyncClient, calls: list[Call], offset: int, stop_at: float,
                 seen: Observed) -> None:  # fmt: skip
    for i in range(MAX_PER_CLIENT):
        if time.monotonic() >= stop_at:
            return
        call = calls[(offset + i) % len(calls)]
        started = time.monotonic()
        try:
            reply = await http.request(call.method, call.url, headers=call.headers, json=call.json)
            await reply.aread()
            status = str(reply.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        seen.add(call.kind, status, time.monotonic() - started)


async def drive(calls: list[Call]) -> Observed:
    seen = Observed()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        stop_at = time.monotonic() + SECONDS
        await asyncio.gather(*(client(http, calls, n, stop_at, seen) for n in range(CLIENTS)))
    return seen


@contextmanager
def loading(config: Path, cohorts: list[Path], workdir: Path) -> Iterator[list[float]]:
    """Keep ``gdi-node ingest vcf`` running, the cohorts in turn under one file name
    (``--update`` after the first); yields the seconds each completed load took. The load in
    progress at the end is interrupted (what it wrote is never shown)."""
    done: list[float] = []
    processes: list[subprocess.Popen[bytes]] = []
    stop = False

    def run() -> None:
        update: list[str] = []
        vcf = workdir / "loaded-cohort.bcf"
        turn = 0
        while not stop:
            shutil.copyfile(cohorts[turn % len(cohorts)], vcf)
            turn += 1
            started = time.monotonic()
            command = [str(GDI_NODE), "--config", str(config), "ingest", "vcf", str(vcf),
                       "--dataset", "LOAD", *update]  # fmt: skip
            with (workdir / "ingest.log").open("a") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
                processes.append(process)
                if process.wait() == 0:
                    done.append(time.monotonic() - started)
                    update = ["--update"]
                elif not stop:
                    raise RuntimeError(f"ingest failed; see {workdir / 'ingest.log'}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop = True
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        thread.join(timeout=120)


def run_case(
    kind: str, database_url: str | None, cohorts: list[Path]
) -> tuple[Observed, list[float], bool]:
    with tempfile.TemporaryDirectory(prefix="gdi-load-") as folder:
        tmp = Path(folder)
        port = free_port()
        settings, calls = node_with_data(tmp, port, database_url)
        config = write_config(tmp / "node.yaml", settings, port)
        progress(f"{kind}: serving with 2 workers; {CLIENTS} clients for {SECONDS:.0f} s")
        with running_node(["--config", str(config), "serve", "--workers", "2"], port, tmp) as node:
            calls = with_data_url(calls, node.base_url)
            with loading(config, cohorts, tmp) as loads:
                seen = asyncio.run(drive(calls))
        verify = subprocess.run([str(GDI_NODE), "--config", str(config), "audit", "verify"],
                                capture_output=True, text=True, check=False)  # fmt: skip
        return seen, list(loads), verify.returncode == 0


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def print_case(kind: str, seen: Observed, loads: list[float], chain_ok: bool) -> None:
    print(f"\n{kind}: {CLIENTS} clients, {SECONDS:.0f} s, 2 workers, a VCF loading throughout")
    print(f"| {'request':<34} | {'requests':>8} | {'answers by status':<28} | {'p50 ms':>7} |"
          f" {'p99 ms':>7} |")  # fmt: skip
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 30}|{'-' * 9}|{'-' * 9}|")
    total = 0
    for name, counts in seen.statuses.items():
        times = seen.seconds[name]
        total += len(times)
        by_status = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))
        print(
            f"| {name:<34} | {len(times):>8} | {by_status:<28} |"
            f" {percentile(times, 50) * 1000:>7.1f} | {percentile(times, 99) * 1000:>7.1f} |"
        )
    everything = [t for times in seen.seconds.values() for t in times]
    print(
        f"| {'all':<34} | {total:>8} | {f'{total / SECONDS:.0f} req/s':<28} |"
        f" {percentile(everything, 50) * 1000:>7.1f} | {percentile(everything, 99) * 1000:>7.1f} |"
    )
    done = ", ".join(f"{s:.1f} s" for s in loads) or "none finished (one was running throughout)"
    print(f"loads of {LOAD_VARIANTS:,} variants x {LOAD_SAMPLES} samples completed: {done}")
    print(f"audit verify after the run: {'intact' if chain_ok else 'BROKEN'}")


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="gdi-load-pg-"))
    script = str(ROOT / "scripts" / "test-postgres")
    url = subprocess.run([script, "start", str(folder)], capture_output=True, text=True,
                         check=True).stdout.strip()  # fmt: skip
    try:
        yield url
    finally:
        subprocess.run([script, "stop", str(folder)], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    if not SHARED_VCF.exists():
        print(f"bench load: {SHARED_VCF} is missing (../shared beside the repository)")
        return 1
    cohorts = [
        generate_cohort(CACHE / f"load-{LOAD_VARIANTS}x{LOAD_SAMPLES}-{seed}.bcf", LOAD_VARIANTS,
                        LOAD_SAMPLES, seed=seed).path
        for seed in (1, 2)
    ]  # fmt: skip
    failures = 0
    for kind in ("SQLite", "PostgreSQL"):
        if kind == "SQLite":
            seen, loads, chain_ok = run_case(kind, None, cohorts)
        else:
            with throwaway_postgres() as url:
                seen, loads, chain_ok = run_case(kind, url, cohorts)
        print_case(kind, seen, loads, chain_ok)
        failures += seen.server_errors() + (0 if chain_ok else 1)
    if failures:
        print(f"bench load: {failures} server errors or failed checks")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

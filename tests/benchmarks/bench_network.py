"""Benchmark: the node under the ELIXIR Beacon Network's load (issue 19, design note §4).

Run with ``scripts/bench network`` (or ``python -m tests.benchmarks.bench_network``); needs
``wrk``. Options: ``--clients N`` (default 100), ``--seconds S`` per case (default 20),
``--quick`` (10 clients, a few seconds, one dataset of the file's first 200 records: a smoke
run), ``--database-url URL`` (an empty PostgreSQL database instead of SQLite).

The node: ``gdi-node serve`` with 2 workers on loopback, SQLite by default, holding the shared
1000 Genomes chr22 file (3,042 annotated records x 2,548 genomes, ``../shared``) twice: as the
PUBLIC dataset ``DK-1KG`` (population label DK) and as the REGISTERED dataset ``SE-1KG`` (label
SE; an anonymous caller gets counts), with a sample sheet giving every genome a sex and a
country.

The load is what the network relays to a member, anonymous as the network's own checks are:
sequence (one allele), range (100 kb) and gene queries, each at boolean, count and record
granularity; the GDI portal's record-level POST with its population filters (``sexFilter``,
``countryFilter``, decision record 0018) and without; and the bare ``/g_variants`` the network
and the Beacon Verifier v2 send. wrk holds ``--clients`` connections open, each sending its next
request when the last one is answered, cycling through 1,101 requests drawn once (seeded):
first each kind alone, then all of them mixed. The network drops answers later than 5 s (wrk's
timeout here); goal: the mix's p99 <= 1 s on 2 cores, with no errors.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam

from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.benchmarks.bench_htsget import cells, print_table, progress
from tests.support.processes import free_port, running_node, write_config

ROOT = Path(__file__).resolve().parents[2]
VCF = ROOT.parent / "shared" / "data" / "vcf" / "test_1000G_hg38.norm.ann.vcf.gz"
BEACON = "/ga4gh/beacon/v2"
SEED = 20261207
REQUESTS_PER_KIND = 100
RANGE = 100_000
NETWORK_TIMEOUT_S = 5  # the Beacon Network's default discard timeout
GOAL_P99_MS = 1000
GRANULARITIES = ("boolean", "count", "record")
QUICK_RECORDS = 200

_WRK_SCRIPT = """\
-- each wrk thread cycles through the requests from its own offset; a request is {path} (GET)
-- or {path, JSON body} (POST); done prints what bench_network reads
local requests = {
%s
}
local started = 0
function setup(thread)
  started = started + 1
  thread:set("offset", started * 37)
end
function init(args)
  at = offset
end
function request()
  at = at %% #requests + 1
  local path, body = requests[at][1], requests[at][2]
  if body == nil then
    return wrk.format("GET", path)
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Request:
    path: str
    body: dict[str, Any] | None = None  # None: GET

    def lua(self) -> str:
        body = "nil" if self.body is None else _lua_string(json.dumps(self.body))
        return "{" + _lua_string(self.path) + ", " + body + "}"


@dataclass(frozen=True)
class Measured:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    bad_status: int
    socket_errors: int


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def settings_for(data_dir: Path, *, quick: bool, database_url: str | None = None) -> Settings:
    datasets = [
        {"id": "DK-1KG", "name": "1000 Genomes chr22 as DK", "security_level": "PUBLIC",
         "frequency_label": "DK"},
        {"id": "SE-1KG", "name": "1000 Genomes chr22 as SE", "security_level": "REGISTERED",
         "frequency_label": "SE"},
    ]  # fmt: skip
    return Settings.model_validate(
        {
            "data_dir": data_dir,
            "database_url": database_url,
            "datasets": datasets[:1] if quick else datasets,
            "logging": {"level": "WARNING", "format": "json"},
            "server": {"workers": 2},
            # one address sends everything: a budget that never refuses (its accounting is
            # still done and measured)
            "beacon": {"budget": {"units": 10**15}},
        }
    )


def prepared(folder: Path, records: int | None) -> tuple[Path, Path]:
    """The shared VCF bgzipped (it is plain gzip), and the file to load: that one, or its
    first ``records`` records."""
    whole = folder / "1000G.vcf.gz"
    command = ["bcftools", "view", "--no-version", "-Oz", "-o", str(whole), str(VCF)]
    subprocess.run(command, check=True, capture_output=True)
    if records is None:
        return whole, whole
    path = folder / "subset.vcf.gz"
    with (
        pysam.VariantFile(str(whole)) as vcf,
        pysam.VariantFile(str(path), "wz", header=vcf.header) as out,
    ):
        for n, record in enumerate(vcf):
            if n == records:
                break
            out.write(record)
    return whole, path


def load(settings: Settings, folder: Path, vcf_path: Path) -> int:
    """Load ``vcf_path`` into every dataset, with a sample sheet; the genomes loaded."""
    with pysam.VariantFile(str(vcf_path)) as vcf:
        samples = list(vcf.header.samples)
    sheet = folder / "samples.tsv"
    rows = [
        f"{s}\t{('female', 'male')[n % 2]}\t{('DK', 'SE', 'NO')[n % 3]}\n"
        for n, s in enumerate(samples)
    ]
    sheet.write_text("sample\tsex\tcountry\n" + "".join(rows), encoding="utf-8")
    with migrated_sessions(settings) as sessions:
        for dataset in settings.datasets:
            progress(f"loading {vcf_path.name} into {dataset.id}")
            VcfIngestor(sessions).ingest(vcf_path, dataset.id, sample_sheet=sheet)
    return len(samples)


def alleles_and_genes(path: Path) -> tuple[list[tuple[int, str, str]], list[str]]:
    """(0-based start, ref, alt) of every allele of the file, and its genes (ANN)."""
    alleles, genes = [], set()
    with pysam.VariantFile(str(path)) as vcf:
        for record in vcf:
            for alt in record.alts or ():
                alleles.append((record.start, record.ref or "", alt))
            for annotation in record.info.get("ANN", ()):
                fields = annotation.split("|")
                if fields[1] != "intergenic_region" and fields[3]:
                    genes.add(fields[3])
    return alleles, sorted(genes)


def request_kinds(rng: random.Random, path: Path) -> dict[str, list[Request]]:
    """REQUESTS_PER_KIND requests of each kind the network relays, about the file loaded."""
    alleles, genes = alleles_and_genes(path)
    first, last = alleles[0][0], alleles[-1][0]
    kinds: dict[str, list[Request]] = {}
    for granularity in GRANULARITIES:
        g = f"&requestedGranularity={granularity}"
        picked = [rng.choice(alleles) for _ in range(REQUESTS_PER_KIND)]
        kinds[f"sequence, {granularity}"] = [
            Request(f"{BEACON}/g_variants?referenceName=22&start={s}&alternateBases={a}{g}")
            for s, _, a in picked
        ]
        starts = [rng.randint(first, max(first, last - RANGE)) for _ in range(REQUESTS_PER_KIND)]
        kinds[f"range 100 kb, {granularity}"] = [
            Request(f"{BEACON}/g_variants?referenceName=22&start={s}&end={s + RANGE}{g}")
            for s in starts
        ]
        kinds[f"gene, {granularity}"] = [
            Request(f"{BEACON}/g_variants?geneId={rng.choice(genes)}{g}")
            for _ in range(REQUESTS_PER_KIND)
        ]
    picked = [rng.choice(alleles) for _ in range(REQUESTS_PER_KIND)]
    kinds["portal POST, record, population filters"] = [
        Request(f"{BEACON}/g_variants", portal_body(s, r, a, population_filters(rng)))
        for s, r, a in picked
    ]
    kinds["portal POST, record, no filters"] = [
        Request(f"{BEACON}/g_variants", portal_body(s, r, a, [])) for s, r, a in picked
    ]
    kinds["bare /g_variants (network, verifier)"] = [Request(f"{BEACON}/g_variants")]
    return kinds


def population_filters(rng: random.Random) -> list[dict[str, str]]:
    """The older portal's filters: a sex, a country, or both."""
    sex = {"id": "sexFilter", "operator": "=", "value": rng.choice("MF"), "scope": "population"}
    country = {"id": "countryFilter", "operator": "=", "value": rng.choice(("DK", "SE", "NO"))}
    country["scope"] = "population"
    return rng.choice(([sex], [country], [sex, country]))


def portal_body(start: int, ref: str, alt: str, filters: list[dict[str, str]]) -> dict[str, Any]:
    """The GDI portal's aggregated lookup, as it reaches a member through the network."""
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "requestParameters": {
                "referenceName": "22", "start": [start], "referenceBases": ref,
                "alternateBases": alt, "assemblyId": "GRCh38",
            },
            "filters": filters,
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "pagination": {"skip": 0, "limit": 10},
        },
    }  # fmt: skip


def run_wrk(base: str, script: Path, clients: int, seconds: int) -> Measured:
    command = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout"]
    command += [f"{NETWORK_TIMEOUT_S}s", "-s", str(script), base]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    count, duration, p50, p95, p99, most, status, errors = (int(v) for v in line.split()[1:])
    return Measured(
        count, duration / 1e6, p50 / 1e3, p95 / 1e3, p99 / 1e3, most / 1e3, status, errors
    )


def measure(
    base: str, workdir: Path, requests: Sequence[Request], clients: int, seconds: int
) -> Measured:
    script = workdir / "requests.lua"
    script.write_text(_WRK_SCRIPT % ",\n".join(r.lua() for r in requests), encoding="utf-8")
    return run_wrk(base, script, clients, seconds)


def row(case: str, clients: int, result: Measured, goal: str = "") -> str:
    rate = result.requests / max(result.seconds, 1e-9)
    latency = f"{result.p50_ms:.0f} / {result.p95_ms:.0f} / {result.p99_ms:.0f} ms"
    errors = result.bad_status + result.socket_errors
    met = ""
    if goal:
        met = "met" if result.p99_ms <= GOAL_P99_MS and errors == 0 else "MISSED"
    return cells(case, f"c={clients}", latency, f"{rate:,.0f}/s, max {result.max_ms:.0f} ms",
                 f"{errors}", f"{goal} {met}".strip())  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20, help="per case")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--database-url", help="an empty PostgreSQL database to fill instead of SQLite"
    )
    args = parser.parse_args(argv)
    clients, seconds = (10, 2) if args.quick else (args.clients, args.seconds)
    if shutil.which("wrk") is None:
        sys.exit("bench_network needs wrk: apt-get install -y wrk")
    if not VCF.exists():
        sys.exit(f"bench_network needs {VCF} (../shared beside the repository)")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-network-") as tmp:
        workdir = Path(tmp)
        settings = settings_for(workdir / "data", quick=args.quick, database_url=args.database_url)
        whole, source = prepared(workdir, QUICK_RECORDS if args.quick else None)
        genomes = load(settings, workdir, source)
        kinds = request_kinds(random.Random(SEED), whole)
        if args.quick:  # one request of each kind, and the mix
            kinds = {name: requests[:1] for name, requests in kinds.items()}
        mix = [r for requests in kinds.values() for r in requests]
        random.Random(SEED).shuffle(mix)
        port = free_port()
        config = write_config(workdir / "node.yaml", settings, port)
        rows = []
        with running_node(
            ["--config", str(config), "serve", "--no-migrate"], port, workdir
        ) as node:
            measure(node.base_url, workdir, mix, min(clients, 10), 2)  # warm the workers
            for name, requests in [] if args.quick else list(kinds.items()):
                progress(f"{name}: {clients} clients, {seconds} s")
                alone = measure(node.base_url, workdir, requests, clients, seconds)
                rows.append(row(name, clients, alone))
            progress(f"the network's mix: {clients} clients, {seconds} s")
            mixed = measure(node.base_url, workdir, mix, clients, seconds * 2)
            rows.append(row("the network's mix", clients, mixed, goal="p99 <= 1 s, 0 errors"))
    print(
        f"\nBeacon Network load: {len(settings.datasets)} dataset(s) of the 1000 Genomes chr22"
        f" file ({genomes:,} genomes), {'PostgreSQL' if args.database_url else 'SQLite'},"
        " 2 workers, loopback, anonymous; wrk, timeout"
        f" {NETWORK_TIMEOUT_S} s; run took {time.monotonic() - began:.0f} s"
    )
    print_table(("case", "clients", "p50 / p95 / p99", "rate, slowest", "errors", "goal"), rows)


if __name__ == "__main__":
    main()

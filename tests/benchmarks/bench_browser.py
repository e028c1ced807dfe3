"""Benchmark: how fast the frequency browser's pages render in headless Chromium (issue #21,
decision record 0032).

Run with ``scripts/bench browser``. A ``gdi-node serve`` process on loopback (SQLite, 1 worker,
query budget off) holds one public dataset of ``--samples`` genomes with ``--variants`` SNVs, all
annotated (VEP CSQ) with one gene, ``BENCHG``. Debian's Chromium loads, over the DevTools
protocol (tests/clients/web/steps.mjs):

- the gene page of ``BENCHG`` (every variant: two Beacon pages of 1,000 records);
- a variant page;

each cold (a new browser: nothing cached, nothing compiled) and warm (the same page loaded a
second time in the same browser), ``--rounds`` times. Printed: time to first render (the first
Beacon page drawn: table and plot), time to interactive (every record drawn, handlers bound),
both from navigation start, and the wall time the driver saw. The same run times the page's
Beacon queries asked directly (httpx, same process as the driver): the ratio page/Beacon is
what the browser adds. Goal: the gene page at 2,000 variants interactive in ≤ 1 s.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pysam
import yaml

from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.benchmarks.bench_htsget import progress
from tests.support.processes import free_port, running_node
from tests.support.web_harness import drive, step_results

BEACON = "/ga4gh/beacon/v2"
GENE = ("BENCHG", "17", 43_000_001)  # symbol, chrom, first position
CSQ_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP.'
    " Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|HGVSc|HGVSp|"
    'Existing_variation">'
)
EFFECTS = ("missense_variant", "synonymous_variant", "stop_gained", "intron_variant")


def write_cohort(folder: Path, samples: int, variants: int, seed: int = 21) -> tuple[Path, Path]:
    """A joint-called VCF of ``samples`` genomes with ``variants`` annotated SNVs (mostly rare,
    as a gene's variants are), and the gene reference naming their span."""
    rng = random.Random(seed)
    symbol, chrom, first = GENE
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID=chr{chrom},length=83257441>")
    header.add_line(CSQ_HEADER)
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    names = [f"B{i:05d}" for i in range(samples)]
    header.add_samples(names)
    vcf = folder / "cohort.vcf.gz"
    last = first
    with pysam.VariantFile(str(vcf), "wz", header=header) as out:
        for n in range(variants):
            pos = first + 20 * n
            last = pos
            ref, alt = rng.sample("ACGT", 2)
            frequency = rng.choice((0.0005, 0.002, 0.01, 0.05, 0.3))
            effect = EFFECTS[n % len(EFFECTS)]
            transcript = f"ENSTBENCH.1|protein_coding|ENSTBENCH.1:c.{20 * n + 1}{ref}>{alt}"
            csq = f"{alt}|{effect}|MODERATE|{symbol}|ENSGBENCH|Transcript|{transcript}||rs9{n:07d}"
            record = out.new_record(
                contig=f"chr{chrom}", start=pos - 1, alleles=(ref, alt), info={"CSQ": csq}
            )
            carriers = {rng.randrange(samples)}  # every allele has a carrier
            for sample, name in enumerate(names):
                copies = sum(rng.random() < frequency for _ in "ab") or (
                    1 if sample in carriers else 0
                )
                record.samples[name]["GT"] = (
                    (0, 0) if copies == 0 else (0, 1) if copies == 1 else (1, 1)
                )
            out.write(record)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    genes = folder / "genes.tsv"
    genes.write_text(
        f"symbol\tchrom\tstart\tend\n{symbol}\t{chrom}\t{first}\t{last}\n", encoding="utf-8"
    )
    return Path(f"{vcf}"), genes


def settings_for(folder: Path, port: int, genes: Path) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": folder / "data",
            "public_url": f"http://127.0.0.1:{port}",
            "server": {"host": "127.0.0.1", "port": port, "workers": 1},
            "datasets": [{"id": "BENCH", "name": "Benchmark cohort", "security_level": "PUBLIC"}],
            "beacon": {"budget": {"units": 0}},  # one client asks everything: measured elsewhere
            "browser": {"genes": [{"assembly": "GRCh38", "path": str(genes)}]},
        }
    )


def beacon_seconds(base: str, parameters: dict[str, Any]) -> float:
    """Seconds to fetch every record of the page's query from the Beacon directly."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        for page in range(100):
            body = {"meta": {"apiVersion": "v2.1.1"},
                    "query": {"requestParameters": parameters, "requestedGranularity": "record",
                              "pagination": {"skip": page, "limit": 1000}}}  # fmt: skip
            answer = client.post(f"{BEACON}/g_variants", json=body).json()
            if max(len(rs["results"]) for rs in answer["response"]["resultSets"]) < 1000:
                break
    return time.perf_counter() - started


def timings(url: str, warm: bool) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"goto": url}] if warm else []
    results = step_results(drive([*steps, {"timing": url}], timeout=60))
    timing: dict[str, Any] = results[-1]
    return timing


def run(samples: int, variants: int, rounds: int) -> None:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        folder = Path(tmp)
        progress(f"writing {variants} variants x {samples} genomes")
        vcf, genes = write_cohort(folder, samples, variants)
        port = free_port()
        settings = settings_for(folder, port, genes)
        with migrated_sessions(settings) as sessions:
            VcfIngestor(sessions).ingest(vcf, "BENCH")
        config = folder / "node.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json")), encoding="utf-8")
        with running_node(
            ["--config", str(config), "serve"], port, folder, ready_timeout=120
        ) as node:
            base = node.base_url
            symbol, chrom, _ = GENE
            with pysam.VariantFile(str(vcf)) as records:
                record = next(iter(records))
                alt = (record.alts or ("N",))[0]
                variant = f"{chrom}-{record.pos}-{record.ref}-{alt}"
            pages: dict[str, tuple[str, dict[str, Any]]] = {
                f"gene page, {variants:,} variants": (
                    f"{base}/browser/gene/{symbol}",
                    {"geneId": symbol},
                ),
                "variant page": (
                    f"{base}/browser/variant/GRCh38/{variant}",
                    {
                        "assemblyId": "GRCh38",
                        "referenceName": chrom,
                        "start": [record.pos - 1],
                        "referenceBases": record.ref,
                        "alternateBases": alt,
                    },
                ),
            }
            rows = []
            for name, (url, parameters) in pages.items():
                for warm in (False, True):
                    measured = []
                    for n in range(rounds):
                        progress(f"{name} {'warm' if warm else 'cold'} round {n + 1}")
                        beacon = beacon_seconds(base, parameters) * 1000
                        measured.append((timings(url, warm), beacon))
                    rows.append(_row(name, warm, measured))
        print(
            "| page | cache | rows | first render ms | interactive ms | driver wall ms |"
            " Beacon alone ms | interactive / Beacon | goal |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        print(
            f"\n{platform.processor() or platform.machine()}, {_cores()} cores; Python"
            f" {sys.version.split()[0]}; Chromium {drive([])['browserVersion']}; medians of"
            f" {rounds} rounds; run took {time.monotonic() - began:.0f} s"
        )


def _row(name: str, warm: bool, measured: list[tuple[dict[str, Any], float]]) -> str:
    def median(key: str) -> float:
        values = [m[key] for m, _ in measured if m[key] is not None]
        return statistics.median(values) if values else float("nan")

    beacon = statistics.median(b for _, b in measured)
    interactive = median("interactiveMs")
    goal = "≤ 1,000 ms interactive" if name.startswith("gene") else ""
    met = "" if not goal else (" ✓" if interactive <= 1000 else " ✗")
    return (
        f"| {name} | {'warm' if warm else 'cold'} | {measured[0][0]['rows']:,} |"
        f" {median('firstRenderMs'):.0f} | {interactive:.0f} | {median('wallMs'):.0f} |"
        f" {beacon:.0f} | {interactive / beacon:.2f} | {goal}{met} |"
    )


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="scripts/bench browser", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    run(options.samples, options.variants, options.rounds)


if __name__ == "__main__":
    main()

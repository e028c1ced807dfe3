"""Benchmark: a Shringarpure-Bustamante membership-inference attack on the node's Beacon, with
and without the query budget.

Run with ``scripts/bench membership``. A synthetic population (``SITES`` biallelic sites with a
realistic, mostly rare, frequency spectrum) gives three disjoint groups: ``MEMBERS`` people in
the Beacon, a public reference panel the attacker estimates allele frequencies from, and
non-members. For each target (members and non-members) the attacker queries the target's
alternate alleles, rarest first, as allele-specific Beacon queries, and computes the
likelihood-ratio statistic of Shringarpure & Bustamante (Am J Hum Genet 2015):

    L = sum_j (1 - x_j) log(D_N / (d D_{N-1})) + x_j log((1 - D_N) / (1 - d D_{N-1}))

with ``x_j`` the Beacon's yes/no answer, ``D_n = (1 - f_j)^(2n)`` and ``d`` = 1e-6. A target is
called a member when ``L`` is below the 5th percentile of the non-members' ``L`` (false
positive rate 5 %). Power = share of members called members.

Scenarios: the Beacon without protection (budget off), with the default query budget (one
attacker principal for all targets, one window), and with the budget but the attacker spread
over one principal per target (a Sybil attacker; the budget limits each identity only).
Queries go to the node's HTTP app in-process (anonymous caller, PUBLIC dataset).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from gdi_node.app import create_app
from gdi_node.beacon.ingest.vcf import VcfIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from tests.benchmarks.bench_htsget import cells, print_table, progress
from tests.support.beacon_data import write_vcf

SITES = 20_000
MEMBERS = 500
REFERENCE = 500
TARGETS = 20  # members and non-members each
QUERIES = 300  # per target
DELTA = 1e-6
SEED = 20261122
BEACON = "/ga4gh/beacon/v2"


def population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (log-uniform between 1e-4 and 0.5) and genotypes (people x sites, 0/1/2)."""
    freqs = np.exp(rng.uniform(math.log(1e-4), math.log(0.5), SITES))
    people = MEMBERS + REFERENCE + TARGETS
    genotypes = rng.binomial(2, freqs, size=(people, SITES)).astype(np.uint8)
    return freqs, genotypes


def beacon_vcf(path: Path, members: np.ndarray) -> Path:
    text = {0: "0/0", 1: "0/1", 2: "1/1"}
    records = []
    for site in range(SITES):
        column = members[:, site]
        if not column.any():
            continue
        calls = "\t".join(text[int(g)] for g in column)
        records.append(f"chr22\t{1000 + 10 * site}\t.\tA\tG\t.\tPASS\t.\tGT\t{calls}")
    return write_vcf(path, [f"M{n}" for n in range(len(members))], records)


def statistic(answers: list[bool], freqs: list[float], beacon_size: int) -> float:
    total = 0.0
    for present, f in zip(answers, freqs, strict=True):
        d_n = (1 - f) ** (2 * beacon_size)
        d_n1 = (1 - f) ** (2 * (beacon_size - 1))
        if present:
            total += math.log((1 - d_n) / (1 - DELTA * d_n1))
        else:
            total += math.log(d_n / (DELTA * d_n1))
    return total


def attack(client: Any, target: np.ndarray, reference_freqs: np.ndarray) -> dict[str, Any]:
    """Query the target's rarest alternate alleles; stop at the first 429."""
    carried = np.flatnonzero(target > 0)
    order = carried[np.argsort(reference_freqs[carried])][:QUERIES]
    answers: list[bool] = []
    freqs: list[float] = []
    refused = 0
    for site in order:
        start = 1000 + 10 * int(site) - 1
        path = f"{BEACON}/g_variants?referenceName=22&start={start}&alternateBases=G"
        response = client.get(path)
        if response.status_code == 429:
            refused = len(order) - len(answers)
            break
        assert response.status_code == 200, response.text
        answers.append(bool(response.json()["responseSummary"]["exists"]))
        freqs.append(float(reference_freqs[site]))
    return {"answers": answers, "freqs": freqs, "refused": refused}


def scenario(name: str, settings: Settings, groups: dict[str, Any], sybil: bool) -> str:
    app = create_app(settings)
    results: dict[str, list[float]] = {"member": [], "non-member": []}
    answered = refused = 0
    began = time.perf_counter()
    targets = (("member", groups["member_targets"]), ("non-member", groups["others"]))
    with app.test_client():  # runs the app's lifespan once; the clients below share it
        for kind, people in targets:
            for n, target in enumerate(people):
                # the budget is per principal; anonymous callers are told apart by address
                address = f"10.{1 if kind == 'member' else 2}.0.{n + 1}" if sybil else "10.0.0.1"
                client = app.test_client(client=(address, 1))
                outcome = attack(client, target, groups["reference_freqs"])
                answered += len(outcome["answers"])
                refused += outcome["refused"]
                results[kind].append(statistic(outcome["answers"], outcome["freqs"], MEMBERS))
    threshold = float(np.percentile(results["non-member"], 5))
    power = sum(1 for v in results["member"] if v < threshold) / len(results["member"])
    seconds = time.perf_counter() - began
    return cells(
        name,
        f"{TARGETS}+{TARGETS}",
        f"power {power:.2f} at 5 % false positives",
        f"{answered:,} answered",
        f"{refused:,} refused",
        f"{seconds:.0f} s",
    )


def main() -> None:
    began = time.monotonic()
    rng = np.random.default_rng(SEED)
    _, genotypes = population(rng)
    members = genotypes[:MEMBERS]
    reference = genotypes[MEMBERS : MEMBERS + REFERENCE]
    others = genotypes[MEMBERS + REFERENCE :]
    reference_freqs = (reference.sum(axis=0) + 0.5) / (2 * REFERENCE + 1)  # smoothed estimate
    groups = {
        "member_targets": members[:TARGETS],
        "others": others,
        "reference_freqs": reference_freqs,
    }
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-membership-") as tmp:
        folder = Path(tmp)
        progress(f"writing a Beacon of {MEMBERS} people x {SITES:,} sites")
        vcf = beacon_vcf(folder / "beacon.vcf.gz", members)
        for name, budget, sybil in (
            ("no protection (budget off)", {"units": 0}, False),
            ("default budget, one attacker", {}, False),
            ("default budget, one identity per target", {}, True),
        ):
            data_dir = folder / f"scenario-{len(rows)}"
            settings = Settings.model_validate(
                {
                    "data_dir": data_dir,
                    "datasets": [{"id": "B", "name": "Beacon", "security_level": "PUBLIC"}],
                    "beacon": {"budget": budget},
                }
            )
            with migrated_sessions(settings) as sessions:
                VcfIngestor(sessions).ingest(vcf, "B")
            progress(f"attack: {name}")
            rows.append(scenario(name, settings, groups, sybil))
    print(
        f"\nMembership inference (Shringarpure-Bustamante LRT): Beacon of {MEMBERS} people,"
        f" {SITES:,} sites, up to {QUERIES} queries per target; run took"
        f" {time.monotonic() - began:.0f} s"
    )
    print_table(("scenario", "targets", "attack", "", "", "time"), rows)


if __name__ == "__main__":
    main()

"""The genome reader (one single-sample file, scalar rules) brings exactly what the
multi-sample path's per-record rules (gdi_node.beacon.ingest.vcf, per-sample arrays) bring for
the same file: the same alleles, held the same way, with the same rows, and the same gaps."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cyvcf2 import VCF

from gdi_node.beacon.ingest import vcf as multi_sample
from gdi_node.beacon.ingest.allele_rows import annotation_formats
from gdi_node.beacon.ingest.callability import Callability, GapTracker, is_block, passing
from gdi_node.beacon.ingest.genome_reader import HOLDINGS, read_genome
from gdi_node.beacon.model.assemblies import known_assemblies
from tests.support.per_genome import per_genome_files, per_genome_gvcfs, samples_of

ASSEMBLY = known_assemblies().get("GRCh38")
Seen = dict[tuple[str, int, str, str], tuple[int, int, str, tuple[Any, ...]]]


def by_the_multi_sample_rules(path: Path, callability: Callability) -> tuple[Seen, list[Any]]:
    """What the multi-sample path's record rules give for ``path`` (its one sample is bit 0)."""
    assert ASSEMBLY is not None
    mode = callability.mode(path, 1)
    vcf = VCF(str(path))
    target = multi_sample._Target("D", ASSEMBLY, np.zeros(1, np.uint32), mode)
    gaps = GapTracker(1) if mode == "gvcf" else None
    formats = annotation_formats(vcf)
    seen: Seen = {}
    for record in vcf:
        counted = callability.counts_filter(record.FILTER)
        if gaps is not None:
            ok = passing(record, callability, 1) & counted
            if is_block(record):
                gaps.called("22", record.POS - 1, int(record.INFO["END"]), ok)
                continue
            multi_sample._mask(record, target, ok, gaps)
        for allele in multi_sample._alleles(record, target, formats, counted=counted):
            if allele.bits.is_empty():
                continue
            held = sum(
                flag for flag, b in zip(HOLDINGS, allele.bits.bitmaps(), strict=True) if 0 in b
            )
            row = allele.row
            key = (row["chrom"], row["start"], row["ref"], row["alt"])
            seen[key] = (held, row["end"], row["annotation"], tuple(sorted(allele.terms)))
    found = [(c, s, e) for c, s, e, _ in gaps.finish()] if gaps is not None else []
    return seen, found


def by_the_genome_reader(path: Path, callability: Callability) -> tuple[Seen, list[Any]]:
    assert ASSEMBLY is not None
    calls = read_genome(path, ASSEMBLY, callability)
    seen: Seen = {
        (a.chrom, a.start, a.ref, a.alt): (a.held, a.end, a.annotation, tuple(sorted(a.terms)))
        for a in calls.alleles
    }
    return seen, calls.gaps


@pytest.fixture(scope="module")
def samples() -> list[str]:
    return samples_of()[:6]


@pytest.mark.parametrize("absent", ["ref", "nocall"])
def test_a_per_genome_vcf_reads_the_same_either_way(
    tmp_path: Path, samples: list[str], absent: str
) -> None:
    rules = Callability(absent=absent)
    for path in per_genome_files(samples, tmp_path):
        mine, mine_gaps = by_the_genome_reader(path, rules)
        theirs, their_gaps = by_the_multi_sample_rules(path, rules)
        assert mine == theirs
        assert mine
        assert mine_gaps == their_gaps == []


def test_a_gvcf_with_dips_filters_and_no_calls_reads_the_same_either_way(
    tmp_path: Path, samples: list[str]
) -> None:
    rules = Callability(min_gq=20, min_dp=10)
    compared = 0
    for path in per_genome_gvcfs(samples, tmp_path):
        changed = _with_filters_and_no_calls(path, tmp_path / f"edited-{path.name}")
        for one in (path, changed):
            mine, mine_gaps = by_the_genome_reader(one, rules)
            theirs, their_gaps = by_the_multi_sample_rules(one, rules)
            assert mine == theirs
            assert mine_gaps == their_gaps
            compared += len(mine) + len(mine_gaps)
    assert compared > 100  # the files hold alleles and gaps: the comparison compares


def test_a_filtered_record_of_a_plain_vcf_is_a_no_call_either_way(tmp_path: Path) -> None:
    path = tmp_path / "one.vcf"
    path.write_text(
        "\n".join([
            "##fileformat=VCFv4.2",
            "##contig=<ID=chr22,length=50818468>",
            '##FILTER=<ID=LowQual,Description="low">',
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
            "chr22\t100\t.\tA\tG\t.\tLowQual\t.\tGT\t0/1",
            "chr22\t200\t.\tC\tT,G\t.\tPASS\t.\tGT\t1/2",
            "chr22\t300\t.\tG\tA\t.\t.\t.\tGT\t./1",
            "chr22\t400\t.\tT\tC\t.\t.\t.\tGT\t1",
            "chr22\t500\t.\tT\tC\t.\t.\t.\tGT\t./.",
        ]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    for absent in ("ref", "nocall"):
        rules = Callability(absent=absent)
        mine, _ = by_the_genome_reader(path, rules)
        theirs, _ = by_the_multi_sample_rules(path, rules)
        assert mine == theirs
        assert len(mine) == 6  # the filtered one a no-call, 1/2 twice, ./1, 1, ./.


def _with_filters_and_no_calls(path: Path, out: Path) -> Path:
    """``path`` with every 7th call filtered and every 11th made a no-call."""
    lines = []
    calls = 0
    with gzip.open(path, "rt") as text:
        for line in text:
            if line.startswith("##"):
                lines.append(line)
                continue
            if line.startswith("#"):
                lines.append('##FILTER=<ID=LowQual,Description="low">\n')
                lines.append(line)
                continue
            fields = line.rstrip("\n").split("\t")
            if not fields[4].startswith("<"):
                calls += 1
                if calls % 7 == 0:
                    fields[6] = "LowQual"
                if calls % 11 == 0:
                    fields[9] = "./." + fields[9][3:]
            lines.append("\t".join(fields) + "\n")
    out.write_text("".join(lines), encoding="utf-8")
    return out

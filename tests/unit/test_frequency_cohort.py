"""The frequency benchmark's synthetic national-shape genomes (tests/benchmarks/frequency_cohort):
valid, mergeable gVCFs with consistent coordinates, the issue's site-frequency spectrum, and
determinism by seed."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest

from tests.benchmarks import frequency_cohort as fc

GENOMES = 20


@pytest.fixture(scope="module")
def catalogue() -> fc.Catalogue:
    return fc.catalogue_for(fc.SEED, fc.Shape())


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> fc.Cohort:
    folder = tmp_path_factory.mktemp("frequency-cohort")
    generated = fc.generate(folder, GENOMES, workers=1, chunk=10)
    assert generated.made == GENOMES
    return generated.cohort


def bcftools(*args: str | Path) -> str:
    return subprocess.run(
        ["bcftools", *map(str, args)], capture_output=True, text=True, check=True
    ).stdout


def test_every_file_is_a_sorted_gvcf_whose_records_and_blocks_tile_the_region(
    cohort: fc.Cohort, catalogue: fc.Catalogue
) -> None:
    for calls in cohort.calls(GENOMES):
        path = cohort.path(calls.index)
        assert Path(f"{path}.tbi").exists()
        lines = bcftools("view", "-H", path).splitlines()
        assert len(lines) > 3_000
        covered = next_free = 0
        variants = []
        with pysam.VariantFile(str(path)) as vcf:
            assert list(vcf.header.samples) == [fc.sample_name(calls.index)]
            for record in vcf:
                offset = record.start - fc.REGION_START
                assert 0 <= offset < fc.REGION_LENGTH
                assert offset >= next_free, f"{path}: overlap at {record.pos}"
                assert record.ref is not None
                assert record.alts is not None
                assert record.ref[0] == chr(catalogue.sequence[offset])
                sample = record.samples[0]
                if record.alts == ("<NON_REF>",):
                    assert sample["GT"] == (0, 0)
                    assert f"END={record.stop}\t" in str(record)
                    assert record.stop > record.start
                    assert sample["MIN_DP"] <= sample["DP"]
                else:
                    assert record.alts[-1] == "<NON_REF>"
                    assert len(record.alts) == 2
                    variants.append((offset, record.ref, record.alts[0], sample["GT"]))
                covered += record.stop - record.start
                next_free = record.stop - fc.REGION_START
        gaps = int(np.sum((calls.dip_end - calls.dip_start)[calls.dip_kind == fc.GAP]))
        assert covered + gaps >= fc.REGION_LENGTH - 50  # a record may reach into a gap
        expected = [
            (int(catalogue.start[a]), catalogue.ref(a), catalogue.alt(a), gt)
            for a, gt in zip(calls.alleles.tolist(), calls.genotype.tolist(), strict=True)
        ]
        assert [(o, r, a, _code(gt)) for o, r, a, gt in variants] == expected


def _code(gt: tuple[int | None, ...]) -> int:
    if gt == (None, None):
        return fc.NO_CALL
    return fc.HOM if gt == (1, 1) else fc.HET


def test_bcftools_merge_gvcf_counts_each_allele_as_the_genomes_carry_it(
    cohort: fc.Cohort, tmp_path: Path
) -> None:
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(map(str, cohort.paths(0, GENOMES))) + "\n")
    merged = tmp_path / "merged.bcf"
    bcftools("merge", "-g", "-", "-l", listing, "-Ob", "-o", merged)
    table = subprocess.run(
        f"bcftools +fill-tags {merged} -- -t AC | bcftools query -i 'ALT!=\"<NON_REF>\"'"
        " -f '%POS\\t%REF\\t%ALT\\t%AC\\n'",
        shell=True, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    merged_ac: Counter[tuple[int, str, str]] = Counter()
    for line in table.splitlines():
        pos, ref, alts, acs = line.split("\t")
        for alt, ac in zip(alts.split(","), acs.split(","), strict=True):
            if alt != "<NON_REF>":
                merged_ac[(int(pos), ref, alt)] += int(ac)
    catalogue = fc.catalogue_for(cohort.seed, cohort.shape)
    ours: Counter[tuple[int, str, str]] = Counter()
    for calls in cohort.calls(GENOMES):
        for allele, gt in zip(calls.alleles.tolist(), calls.genotype.tolist(), strict=True):
            if gt != fc.NO_CALL:
                key = (
                    fc.REGION_START + int(catalogue.start[allele]) + 1,
                    *_alleles(catalogue, allele),
                )
                ours[key] += 2 if gt == fc.HOM else 1
    assert sum(ours.values()) > GENOMES * 1_400
    assert {k: v for k, v in merged_ac.items() if v} == dict(ours)


def _alleles(catalogue: fc.Catalogue, allele: int) -> tuple[str, str]:
    return catalogue.ref(allele), catalogue.alt(allele)


def test_the_joint_called_file_holds_each_carried_allele_once_with_counted_genotypes(
    cohort: fc.Cohort, tmp_path: Path
) -> None:
    catalogue = fc.catalogue_for(cohort.seed, cohort.shape)
    joint = tmp_path / "joint.bcf"
    records = fc.write_joint(cohort, GENOMES, joint, catalogue)
    table = bcftools("query", "-f", "%POS\\t%REF\\t%ALT[\\t%GT]\\n", joint).splitlines()
    assert len(table) == records
    assert bcftools("query", "-l", joint).split() == [fc.sample_name(i) for i in range(GENOMES)]
    expected: dict[tuple[int, str, str], list[str]] = {}
    for calls in cohort.calls(GENOMES):
        for allele, gt, counted in zip(
            calls.alleles.tolist(), calls.genotype.tolist(), calls.counted.tolist(), strict=True
        ):
            if gt == fc.NO_CALL:
                continue
            key = (fc.REGION_START + int(catalogue.start[allele]) + 1, *_alleles(catalogue, allele))
            column = expected.setdefault(key, ["?"] * GENOMES)
            column[calls.index] = ("0/1" if gt == fc.HET else "1/1") if counted else "./."
    assert len(expected) == records
    for line in table:
        pos, ref, alt, *gts = line.split("\t")
        for want, got in zip(expected[(int(pos), ref, alt)], gts, strict=True):
            if want != "?":
                assert got == want
            else:
                assert got in {"0/0", "./."}


def test_the_spectrum_has_the_national_shape(catalogue: fc.Catalogue) -> None:
    # the population: about 250,000 distinct alleles in 60,000 genomes, ~1,500 records each
    assert 235_000 < catalogue.expected_distinct(60_000) < 265_000
    assert 1_400 < catalogue.expected_records() < 1_600
    assert int(np.sum(catalogue.frequency > 0.05)) == 4_700
    assert np.mean(catalogue.kind != fc.SNV) == pytest.approx(0.10, abs=0.01)
    # 200 drawn genomes
    genomes = [fc.draw_genome(catalogue, i) for i in range(200)]
    records = np.array([len(g.alleles) for g in genomes])
    assert 1_400 < records.mean() < 1_600
    assert all(1_000 < len(g.block_start) < 5_000 for g in genomes)
    assert 25 < np.mean([len(g.dip_start) for g in genomes]) < 35
    calls = np.concatenate([g.alleles[g.genotype != fc.NO_CALL] for g in genomes])
    assert np.mean(catalogue.frequency[calls] > 0.05) > 0.8  # common alleles carry most calls
    carriers = np.bincount(calls)
    seen = carriers[carriers > 0]
    assert len(seen) == pytest.approx(catalogue.expected_distinct(200), rel=0.05)
    rare_seen = np.bincount(calls[catalogue.frequency[calls] < 0.005])
    rare_seen = rare_seen[rare_seen > 0]
    assert np.mean(rare_seen == 1) > 0.8  # rare alleles are singletons in a small cohort
    no_calls = np.mean(np.concatenate([g.genotype for g in genomes]) == fc.NO_CALL)
    assert 0.002 < no_calls < 0.01
    uncounted = np.mean(np.concatenate([~g.counted() for g in genomes]))
    assert no_calls < uncounted < 0.05  # low-GQ and low-depth dips make some calls uncounted


def test_a_genome_depends_only_on_the_seed_and_its_index(
    cohort: fc.Cohort, tmp_path: Path, catalogue: fc.Catalogue
) -> None:
    smaller = fc.generate(tmp_path / "smaller", 5, workers=1, chunk=5).cohort
    for index in range(5):  # a 5-genome cohort is the first 5 of the 20-genome one
        assert smaller.path(index).read_bytes() == cohort.path(index).read_bytes()
    again = fc.gvcf_text(catalogue, fc.draw_genome(fc.build_catalogue(), 3))
    assert again == fc.gvcf_text(catalogue, fc.draw_genome(catalogue, 3))
    other_seed = fc.build_catalogue(seed=fc.SEED + 1)
    assert fc.gvcf_text(other_seed, fc.draw_genome(other_seed, 3)) != again
    assert fc.gvcf_text(catalogue, fc.draw_genome(catalogue, 4)) != again


def test_generating_in_two_processes_writes_the_genomes_one_process_writes(
    cohort: fc.Cohort, tmp_path: Path
) -> None:
    parallel = fc.generate(tmp_path / "parallel", 4, workers=2, chunk=2)
    assert (parallel.made, parallel.workers) == (4, 2)
    for index in range(4):
        assert parallel.cohort.path(index).read_bytes() == cohort.path(index).read_bytes()


def test_the_sample_sheet_gives_half_the_genomes_each_sex(cohort: fc.Cohort) -> None:
    rows = cohort.sheet.read_text().splitlines()
    assert rows[0] == "sample\tsex\tcountry"
    sexes = Counter(row.split("\t")[1] for row in rows[1:])
    assert sexes == {"F": GENOMES // 2, "M": GENOMES // 2}

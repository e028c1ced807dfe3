"""Synthetic national-shape genomes for the frequency benchmark (issue #18): one single-sample
gVCF per genome over one 1 Mb region of chr22 (GRCh38), as a region's pipeline writes them.

**The population** is a catalogue of alleles in the region, deterministic per seed:

- ``common``: 4,700 alleles with allele frequency log-uniform in [5 %, 35 %]; they carry about
  85 % of every genome's calls;
- ``low``: 5,000 alleles log-uniform in [0.5 %, 5 %];
- ``rare``: 565,000 alleles whose expected carrier count among 60,000 genomes follows a
  power law ``P(e) ∝ e^-2`` on [0.2, 600]: most are never seen, and most of those that are seen
  are singletons.

With these numbers 60,000 genomes hold about 250,000 distinct alleles (about half of them
singletons) and each genome about 1,500 variant records. 90 % of alleles are SNVs, 10 % indels of
1-10 bp (half insertions, half deletions); REF bases come from a random reference sequence, so
alleles of different genomes agree on their REF (``bcftools merge`` checks that).

**A genome** is drawn on its own, from a generator seeded by (seed, genome index), so genome
*i* is the same whatever the cohort size (the first 2,500 of a 60,000-genome cohort are the
2,500-genome cohort) and cohorts grow by generating only the missing genomes. Its calls:
Hardy-Weinberg genotypes for the common and low-frequency alleles, Poisson copy counts for the
rare ones (two copies make a homozygote); overlapping alleles keep the first one; 0.5 % of its
records are ``./.``.

**Callability**: about 30 dips per genome (Poisson), 30 % of them in 30 "hard" 1 kb windows
(3 % of the region): stretches without any record (no coverage), reference blocks with GQ < 20,
or blocks with MIN_DP < 10; 1 % of genomes also miss a 20 kb stretch. Variant records inside a
low-GQ or low-depth dip carry that low GQ or DP; records inside a gap are not written. The rest
of the region is covered by ``<NON_REF>`` reference blocks (``INFO/END``, ``GT:GQ:DP:MIN_DP``),
split where the variant records are and at random points (GQ band changes), about 2,500 blocks
per genome. Variant records are written GATK-style, ``ALT=C,<NON_REF>``, ``GT:GQ:DP``.

Files are written bgzipped (``pysam``'s BGZF writer) and tabix-indexed, in folders of 1,000
(``genomes/000/G000001.g.vcf.gz``), by a pool of processes, 250 genomes per task; each task
also stores its genomes' calls (``calls/250-00000.npz``) for the benchmark's own counts and
the joint-called file (:func:`write_joint`). The sample sheet gives half the genomes sex F and
half M.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pysam
from pysam.libcbgzf import BGZFile

CHROM = "chr22"
CONTIG_LENGTH = 50_818_468
REGION_START = 20_000_000  # 0-based: the region is [REGION_START, REGION_START + REGION_LENGTH)
REGION_LENGTH = 1_000_000
SEED = 20261207
CHUNK = 250  # genomes per generation task (and per calls/250-*.npz file)
FOLDER_SIZE = 1_000  # genome files per folder
VERSION = "v1"  # change when the generator's output changes (cache folders carry it)
DATA = Path(os.environ.get("GDI_NODE_BENCH_FREQ_DATA", "/tmp/gdi-node-bench-freq"))

SNV, INSERTION, DELETION = 0, 1, 2
HET, HOM, NO_CALL = 1, 2, 3  # genotype codes of a genome's variant records
CALLED, GAP, LOW_GQ, LOW_DP = 0, 1, 2, 3  # kinds of stretches (GAP: no record at all)
MIN_GQ, MIN_DP = 20, 10  # a call counts at GQ >= 20 and DP (MIN_DP in blocks) >= 10
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_PAD = 16  # reference bases beyond the region end, so a deletion near it has its REF

Ints = npt.NDArray[np.int64]
Small = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Shape:
    """The population the genomes are drawn from; the defaults are the issue's national shape."""

    common: int = 4_700
    common_af: tuple[float, float] = (0.05, 0.35)
    low: int = 5_000
    low_af: tuple[float, float] = (0.005, 0.05)
    rare: int = 565_000
    rare_carriers: tuple[float, float] = (0.2, 600.0)  # expected carriers among `reference`
    reference: int = 60_000
    indel_share: float = 0.10
    no_call_share: float = 0.005
    dips: float = 30.0  # per genome over the region
    dip_kinds: tuple[float, float, float] = (0.3, 0.5, 0.2)  # GAP, LOW_GQ, LOW_DP
    dip_longest: int = 2_000  # dip lengths are log-uniform in [1, dip_longest]
    hard_windows: int = 30  # 1 kb windows (3 % of the region) ...
    hard_share: float = 0.3  # ... that hold this share of the dips
    stretch_share: float = 0.01  # genomes that also miss a 20 kb stretch
    stretch: int = 20_000
    block_splits: float = 1 / 1_000  # extra block boundaries per base (GQ band changes)


@dataclass(frozen=True)
class Catalogue:
    """The population's alleles in position order (offsets are 0-based within the region)."""

    seed: int
    shape: Shape
    sequence: bytes  # the region's reference bases (and _PAD more)
    start: Ints
    end: Ints  # end of the REF span (exclusive)
    kind: Small
    length: Small  # indel length, 0 for an SNV
    code: Ints  # SNV: ALT base offset 1-3 from REF; insertion: inserted bases, 2 bits each
    frequency: npt.NDArray[np.float64]
    hard_windows: Ints  # offsets of the 1 kb windows where dips gather
    frequent: Ints = field(repr=False)  # indices drawn per genome by genotype (common, low)
    rare: Ints = field(repr=False)  # indices drawn by Poisson copy counts
    rare_cumulative: npt.NDArray[np.float64] = field(repr=False)  # of 2f over `rare`

    def ref(self, index: int) -> str:
        start = int(self.start[index])
        return self.sequence[start : int(self.end[index])].decode()

    def alt(self, index: int) -> str:
        start, kind = int(self.start[index]), int(self.kind[index])
        first = self.sequence[start]
        if kind == SNV:
            base = (int(np.searchsorted(_BASES, first)) + int(self.code[index])) % 4
            return chr(_BASES[base])
        if kind == DELETION:
            return chr(first)
        code, inserted = int(self.code[index]), []
        for _ in range(int(self.length[index])):
            inserted.append(chr(_BASES[code & 3]))
            code >>= 2
        return chr(first) + "".join(inserted)

    def carrier_probability(self) -> npt.NDArray[np.float64]:
        """Per allele, the chance a genome carries it (as :func:`draw_genome` draws)."""
        f = self.frequency
        p = 1 - np.exp(-2 * f)  # Poisson copy counts (rare)
        p[self.frequent] = 2 * f[self.frequent] - f[self.frequent] ** 2  # Hardy-Weinberg
        return p

    def expected_distinct(self, genomes: int) -> float:
        """Expected distinct alleles carried by ``genomes`` genomes (before the few losses to
        overlaps and gaps)."""
        return float(np.sum(-np.expm1(genomes * np.log1p(-self.carrier_probability()))))

    def expected_records(self) -> float:
        """Expected variant records per genome (before losses to overlaps and gaps)."""
        return float(np.sum(self.carrier_probability()))


def build_catalogue(seed: int = SEED, shape: Shape = Shape()) -> Catalogue:
    rng = np.random.default_rng([seed, 0])
    sequence = _BASES[rng.integers(0, 4, REGION_LENGTH + _PAD)].tobytes()
    total = shape.common + shape.low + shape.rare
    drawn = int(total * 1.25) + 1_000  # then duplicates are dropped, keeping the first
    kind = np.where(rng.random(drawn) < shape.indel_share, rng.integers(1, 3, drawn), SNV)
    length = np.where(kind == SNV, 0, rng.geometric(0.45, drawn).clip(1, 10))
    start = rng.integers(0, REGION_LENGTH, drawn)
    code = np.where(kind == SNV, rng.integers(1, 4, drawn), 0)
    inserting = kind == INSERTION
    code[inserting] = rng.integers(0, 4 ** length[inserting])
    key = (start << 28) | (kind << 24) | (length << 20) | code
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)[:total]  # draw order: the first ones become the common class
    if len(keep) < total:
        raise ValueError(f"the region holds only {len(keep):,} distinct alleles of {total:,}")
    frequency = np.empty(total)
    low_end = shape.common + shape.low
    frequency[: shape.common] = _log_uniform(rng, shape.common_af, shape.common)
    frequency[shape.common : low_end] = _log_uniform(rng, shape.low_af, shape.low)
    lo, hi = shape.rare_carriers
    u = rng.random(shape.rare)
    frequency[low_end:] = 1 / (1 / lo - u * (1 / lo - 1 / hi)) / (2 * shape.reference)
    order = np.argsort(key[keep], kind="stable")
    rows = keep[order]
    frequency = frequency[order]
    frequent = np.flatnonzero(order < low_end)  # rows (by draw rank) drawn by genotype
    rare = np.flatnonzero(order >= low_end)
    kind_rows = kind[rows].astype(np.uint8)
    length_rows = length[rows].astype(np.uint8)
    start_rows = start[rows]
    end = start_rows + np.where(kind_rows == DELETION, length_rows + 1, 1)
    windows = rng.choice(REGION_LENGTH // 1_000, shape.hard_windows, replace=False) * 1_000
    return Catalogue(
        seed=seed,
        shape=shape,
        sequence=sequence,
        start=start_rows,
        end=end.astype(np.int64),
        kind=kind_rows,
        length=length_rows,
        code=code[rows],
        frequency=frequency,
        hard_windows=np.sort(windows).astype(np.int64),
        frequent=frequent,
        rare=rare,
        rare_cumulative=np.cumsum(2 * frequency[rare]),
    )


def _log_uniform(
    rng: np.random.Generator, bounds: tuple[float, float], n: int
) -> npt.NDArray[np.float64]:
    low, high = bounds
    return np.exp(rng.uniform(math.log(low), math.log(high), n))


# --- one genome ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Genome:
    """One genome's variant records, reference blocks and uncalled stretches (region offsets)."""

    index: int
    alleles: Ints  # catalogue indices of its variant records, in position order
    genotype: Small  # HET, HOM or NO_CALL
    gq: Small
    dp: Small
    block_start: Ints
    block_end: Ints
    block_gq: Small
    block_dp: Small
    block_min_dp: Small
    dip_start: Ints  # stretches that are not callable: gaps, low-GQ and low-depth blocks
    dip_end: Ints
    dip_kind: Small

    @property
    def name(self) -> str:
        return sample_name(self.index)

    def counted(self) -> npt.NDArray[np.bool_]:
        """Variant records whose call counts at GQ >= 20 and DP >= 10."""
        return (self.genotype != NO_CALL) & (self.gq >= MIN_GQ) & (self.dp >= MIN_DP)


def sample_name(index: int) -> str:
    return f"G{index + 1:06d}"


def sample_sex(index: int) -> str:
    return "F" if index % 2 == 0 else "M"


def draw_genome(catalogue: Catalogue, index: int) -> Genome:
    shape = catalogue.shape
    rng = np.random.default_rng([catalogue.seed, 1, index])
    # calls: Hardy-Weinberg for the frequent alleles, Poisson copies for the rare ones
    f = catalogue.frequency[catalogue.frequent]
    u = rng.random(len(f))
    carried = u < 2 * f - f * f
    frequent = catalogue.frequent[carried]
    frequent_gt = np.where(u[carried] < f[carried] ** 2, HOM, HET)
    total = float(catalogue.rare_cumulative[-1]) if len(catalogue.rare) else 0.0
    picks = np.searchsorted(catalogue.rare_cumulative, rng.random(rng.poisson(total)) * total)
    rare, copies = np.unique(catalogue.rare[picks.clip(0, len(catalogue.rare) - 1)],
                             return_counts=True)  # fmt: skip
    alleles = np.concatenate([frequent, rare])
    genotype = np.concatenate([frequent_gt, np.where(copies > 1, HOM, HET)]).astype(np.uint8)
    order = np.argsort(alleles, kind="stable")
    alleles, genotype = alleles[order], genotype[order]
    dip_start, dip_end, dip_kind = _dips(rng, catalogue)
    # records in a gap are not written; an allele overlapping the one before it is dropped
    start, end = catalogue.start[alleles], catalogue.end[alleles]
    where = _stretch_at(start, dip_start, dip_end, dip_kind)
    keep = where != GAP
    alleles, genotype, start, end, where = (
        alleles[keep], genotype[keep], start[keep], end[keep], where[keep],
    )  # fmt: skip
    reach = np.maximum.accumulate(end)
    keep = np.ones(len(start), dtype=bool)
    keep[1:] = start[1:] >= reach[:-1]
    alleles, genotype, start, end, where = (
        alleles[keep], genotype[keep], start[keep], end[keep], where[keep],
    )  # fmt: skip
    n = len(alleles)
    genotype[rng.random(n) < shape.no_call_share] = NO_CALL
    gq = rng.integers(30, 100, n)
    dp = rng.integers(15, 60, n)
    gq[where == LOW_GQ] = rng.integers(5, MIN_GQ, int(np.sum(where == LOW_GQ)))
    dp[where == LOW_DP] = rng.integers(3, MIN_DP, int(np.sum(where == LOW_DP)))
    gq[genotype == NO_CALL] = 0
    dp[genotype == NO_CALL] = rng.integers(0, 5, int(np.sum(genotype == NO_CALL)))
    blocks = _blocks(rng, shape, start, end, (dip_start, dip_end, dip_kind))
    return Genome(
        index, alleles, genotype, gq.astype(np.uint8), dp.astype(np.uint8), *blocks,
        dip_start, dip_end, dip_kind,
    )  # fmt: skip


def _dips(rng: np.random.Generator, catalogue: Catalogue) -> tuple[Ints, Ints, Small]:
    """Sorted, disjoint uncallable stretches (an overlapping one is clipped to the one before)."""
    shape = catalogue.shape
    n = rng.poisson(shape.dips * REGION_LENGTH / 1_000_000)
    hard = rng.random(n) < shape.hard_share
    window = catalogue.hard_windows[rng.integers(0, len(catalogue.hard_windows), n)]
    start = np.where(hard, window + rng.integers(0, 1_000, n), rng.integers(0, REGION_LENGTH, n))
    length = np.exp(rng.uniform(0, math.log(shape.dip_longest), n)).astype(np.int64) + 1
    kind = rng.choice([GAP, LOW_GQ, LOW_DP], n, p=list(shape.dip_kinds))
    if rng.random() < shape.stretch_share:
        start = np.append(start, rng.integers(0, REGION_LENGTH - shape.stretch))
        length = np.append(length, shape.stretch)
        kind = np.append(kind, GAP)
    order = np.argsort(start, kind="stable")
    start, end, kind = (
        start[order],
        np.minimum(start[order] + length[order], REGION_LENGTH),
        kind[order],
    )
    if len(start) > 1:
        reach = np.maximum.accumulate(end)
        start[1:] = np.maximum(start[1:], reach[:-1])
    keep = start < end
    return start[keep], end[keep], kind[keep].astype(np.uint8)


def _stretch_at(positions: Ints, dip_start: Ints, dip_end: Ints, dip_kind: Small) -> Small:
    """The kind of stretch (CALLED or a dip's kind) each position lies in."""
    j = np.searchsorted(dip_start, positions, side="right") - 1
    inside = (j >= 0) & (positions < dip_end[j.clip(0)])
    return np.where(inside, dip_kind[j.clip(0)], CALLED).astype(np.uint8)


def _blocks(
    rng: np.random.Generator,
    shape: Shape,
    start: Ints,
    end: Ints,
    dips: tuple[Ints, Ints, Small],
) -> tuple[Ints, Ints, Small, Small, Small]:
    """Reference blocks: everything that is neither a variant record nor a gap, cut at every
    record, dip and random band change."""
    dip_start, dip_end, dip_kind = dips
    splits = rng.integers(1, REGION_LENGTH, rng.poisson(REGION_LENGTH * shape.block_splits))
    cuts = np.unique(np.concatenate([[0, REGION_LENGTH], start, end, dip_start, dip_end, splits]))
    cuts = cuts[cuts <= REGION_LENGTH]
    low, high = cuts[:-1], cuts[1:]
    j = np.searchsorted(start, low, side="right") - 1
    in_record = (j >= 0) & (low < end[j.clip(0)])
    kind = _stretch_at(low, dip_start, dip_end, dip_kind)
    keep = ~in_record & (kind != GAP)
    low, high, kind = low[keep], high[keep], kind[keep]
    n = len(low)
    gq = np.where(rng.random(n) < 0.5, 99, rng.integers(MIN_GQ, 99, n))
    dp = rng.integers(12, 60, n)
    min_dp = MIN_DP + (rng.random(n) * (dp - MIN_DP + 1)).astype(np.int64)
    low_gq, low_dp = kind == LOW_GQ, kind == LOW_DP
    gq[low_gq] = rng.integers(0, MIN_GQ, int(low_gq.sum()))
    dp[low_gq] = rng.integers(3, 25, int(low_gq.sum()))
    min_dp[low_gq] = 1 + (rng.random(int(low_gq.sum())) * dp[low_gq]).astype(np.int64)
    gq[low_dp] = rng.integers(MIN_GQ, 40, int(low_dp.sum()))
    min_dp[low_dp] = rng.integers(2, MIN_DP, int(low_dp.sum()))
    dp[low_dp] = min_dp[low_dp] + rng.integers(0, 10, int(low_dp.sum()))
    return (
        low, high, gq.astype(np.uint8), dp.astype(np.uint8), min_dp.clip(0, dp).astype(np.uint8),
    )  # fmt: skip


# --- files ------------------------------------------------------------------------------------


def header(samples: Sequence[str], *, gvcf: bool) -> str:
    lines = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        f"##contig=<ID={CHROM},length={CONTIG_LENGTH}>",
        "##reference=GRCh38",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    ]
    if gvcf:
        lines += [
            '##ALT=<ID=NON_REF,Description="Any allele other than REF and the listed ALTs">',
            '##INFO=<ID=END,Number=1,Type=Integer,Description="Last position of the block">',
            '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
            '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
            '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Lowest depth in the block">',
        ]
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
    return "\n".join([*lines, "\t".join([*columns, *samples])]) + "\n"


_GT_TEXT = {HET: "0/1", HOM: "1/1", NO_CALL: "./."}


def gvcf_text(catalogue: Catalogue, genome: Genome) -> str:
    """The genome's single-sample gVCF, records in position order."""
    sequence = catalogue.sequence
    base = REGION_START + 1
    variants = [
        f"{CHROM}\t{base + s}\t.\t{catalogue.ref(a)}\t{catalogue.alt(a)},<NON_REF>\t"
        f"{q + 10 if g != NO_CALL else '.'}\t.\t.\tGT:GQ:DP\t{_GT_TEXT[g]}:{q}:{d}\n"
        for a, s, g, q, d in zip(
            genome.alleles.tolist(),
            catalogue.start[genome.alleles].tolist(),
            genome.genotype.tolist(),
            genome.gq.tolist(),
            genome.dp.tolist(),
            strict=True,
        )
    ]
    blocks = [
        f"{CHROM}\t{base + s}\t.\t{chr(sequence[s])}\t<NON_REF>\t.\t.\tEND={REGION_START + e}\t"
        f"GT:GQ:DP:MIN_DP\t0/0:{q}:{d}:{m}\n"
        for s, e, q, d, m in zip(
            genome.block_start.tolist(),
            genome.block_end.tolist(),
            genome.block_gq.tolist(),
            genome.block_dp.tolist(),
            genome.block_min_dp.tolist(),
            strict=True,
        )
    ]
    starts = np.concatenate([catalogue.start[genome.alleles], genome.block_start])
    lines = variants + blocks
    body = "".join(lines[i] for i in np.argsort(starts, kind="stable").tolist())
    return header([genome.name], gvcf=True) + body


def write_gvcf(catalogue: Catalogue, genome: Genome, path: Path) -> None:
    """Write the genome bgzipped, then its tabix index (``.tbi``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with BGZFile(str(path), "wb", index=None) as out:
        out.write(gvcf_text(catalogue, genome).encode())
    pysam.tabix_index(str(path), preset="vcf", force=True)


# --- a cohort on disk -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """Genome files under ``folder`` (generated by :func:`generate`), the first ``genomes``."""

    folder: Path
    genomes: int
    seed: int = SEED
    shape: Shape = Shape()
    chunk: int = CHUNK  # genomes per generation task and per calls file

    def path(self, index: int) -> Path:
        return (
            self.folder
            / "genomes"
            / f"{index // FOLDER_SIZE:03d}"
            / f"{sample_name(index)}.g.vcf.gz"
        )

    def paths(self, first: int, stop: int) -> list[Path]:
        return [self.path(i) for i in range(first, stop)]

    @property
    def sheet(self) -> Path:
        return self.folder / "samples.tsv"

    def chunk_file(self, chunk: int) -> Path:
        return self.folder / "calls" / f"{self.chunk}-{chunk:05d}.npz"

    def calls(self, stop: int) -> Iterator[CallsOf]:
        """The stored calls of genomes [0, stop), one genome at a time."""
        for chunk in range(math.ceil(stop / self.chunk)):
            with np.load(self.chunk_file(chunk)) as data:
                arrays = {k: data[k] for k in data.files}
            for i in range(self.chunk):
                index = chunk * self.chunk + i
                if index >= stop:
                    return
                a, b = arrays["record_offsets"][i : i + 2]
                c, d = arrays["dip_offsets"][i : i + 2]
                yield CallsOf(
                    index,
                    arrays["alleles"][a:b].astype(np.int64),
                    arrays["genotype"][a:b],
                    arrays["counted"][a:b],
                    arrays["dip_start"][c:d].astype(np.int64),
                    arrays["dip_end"][c:d].astype(np.int64),
                    arrays["dip_kind"][c:d],
                )


@dataclass(frozen=True)
class CallsOf:
    """What the benchmark keeps of a generated genome: its records and uncalled stretches."""

    index: int
    alleles: Ints
    genotype: Small
    counted: npt.NDArray[np.bool_]
    dip_start: Ints
    dip_end: Ints
    dip_kind: Small

    @property
    def carried(self) -> Ints:
        """Alleles it carries (a 0/1 or 1/1 record, whatever its quality)."""
        return self.alleles[self.genotype != NO_CALL]


@dataclass(frozen=True)
class Generated:
    cohort: Cohort
    made: int  # genomes written by this call (the rest were there)
    seconds: float
    workers: int

    @property
    def files_per_second(self) -> float:
        return self.made / self.seconds if self.seconds else 0.0


_CATALOGUES: dict[tuple[int, Shape], Catalogue] = {}


def catalogue_for(seed: int, shape: Shape) -> Catalogue:
    """The catalogue of (seed, shape), built once per process."""
    key = (seed, shape)
    if key not in _CATALOGUES:
        _CATALOGUES[key] = build_catalogue(seed, shape)
    return _CATALOGUES[key]


def _generate_chunk(task: tuple[Cohort, int]) -> int:
    cohort, chunk = task
    catalogue = catalogue_for(cohort.seed, cohort.shape)
    genomes = []
    for index in range(chunk * cohort.chunk, (chunk + 1) * cohort.chunk):
        genome = draw_genome(catalogue, index)
        write_gvcf(catalogue, genome, cohort.path(index))
        genomes.append(genome)
    target = cohort.chunk_file(chunk)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".partial.npz")
    np.savez(
        partial,
        record_offsets=np.cumsum([0] + [len(g.alleles) for g in genomes]),
        alleles=np.concatenate([g.alleles for g in genomes]).astype(np.uint32),
        genotype=np.concatenate([g.genotype for g in genomes]),
        counted=np.concatenate([g.counted() for g in genomes]),
        dip_offsets=np.cumsum([0] + [len(g.dip_start) for g in genomes]),
        dip_start=np.concatenate([g.dip_start for g in genomes]).astype(np.int32),
        dip_end=np.concatenate([g.dip_end for g in genomes]).astype(np.int32),
        dip_kind=np.concatenate([g.dip_kind for g in genomes]),
    )
    partial.replace(target)
    return chunk


def generate(
    folder: Path,
    genomes: int,
    *,
    seed: int = SEED,
    shape: Shape = Shape(),
    workers: int | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> Generated:
    """Make sure ``folder`` holds genomes [0, genomes) (whole chunks: up to ``chunk - 1``
    more) and the sample sheet; only missing chunks are generated, by ``workers`` processes
    (``progress(done, todo)`` after each chunk)."""
    began = time.perf_counter()
    cohort = Cohort(folder, genomes, seed, shape, chunk)
    chunks = math.ceil(genomes / chunk)
    missing = [c for c in range(chunks) if not cohort.chunk_file(c).exists()]
    workers = max(1, min(workers or os.cpu_count() or 1, len(missing) or 1))
    if missing:
        tasks = [(cohort, c) for c in missing]
        if workers == 1:
            for done, task in enumerate(tasks, start=1):
                _generate_chunk(task)
                if progress:
                    progress(done, len(tasks))
        else:  # a worker that dies raises BrokenProcessPool here (a Pool would wait forever)
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
                running = [pool.submit(_generate_chunk, task) for task in tasks]
                for done, finished in enumerate(as_completed(running), start=1):
                    finished.result()
                    if progress:
                        progress(done, len(tasks))
    write_sheet(cohort.sheet, chunks * chunk)
    made = len(missing) * chunk
    generated = Generated(cohort, made, time.perf_counter() - began, workers)
    if made:
        history = generation_history(folder)
        history = {
            "genomes": history.get("genomes", 0) + made,
            "seconds": history.get("seconds", 0.0) + generated.seconds,
            "workers": workers,
        }
        (folder / "generation.json").write_text(json.dumps(history), encoding="utf-8")
    return generated


def generation_history(folder: Path) -> dict[str, Any]:
    """Genomes generated into ``folder`` so far and the seconds that took (``generation.json``;
    files generated before it was kept are not counted)."""
    record = folder / "generation.json"
    return dict(json.loads(record.read_text(encoding="utf-8"))) if record.exists() else {}


def write_reference(catalogue: Catalogue, path: Path) -> Path:
    """A FASTA of ``CHROM`` holding the region's reference bases (N elsewhere), indexed: what
    ``bcftools merge -g`` needs to write the REF of the blocks it splits."""
    if path.exists() and path.with_suffix(path.suffix + ".fai").exists():
        return path
    length = REGION_START + REGION_LENGTH + _PAD
    bases = bytearray(b"N" * length)
    bases[REGION_START:length] = catalogue.sequence
    lines = [bytes(bases[i : i + 60]) for i in range(0, length, 60)]
    path.write_bytes(b">" + CHROM.encode() + b"\n" + b"\n".join(lines) + b"\n")
    pysam.faidx(str(path))
    return path


def write_sheet(path: Path, genomes: int, country: str = "DK") -> Path:
    """``samples.tsv`` for genomes [0, genomes): sample, sex (F/M alternating), country."""
    lines = ["sample\tsex\tcountry"]
    lines += [f"{sample_name(i)}\t{sample_sex(i)}\t{country}" for i in range(genomes)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- counts and the joint-called equivalent ---------------------------------------------------


def first_carrier(cohort: Cohort, stop: int, catalogue: Catalogue) -> Ints:
    """Per catalogue allele, the first genome (< stop) that carries it, else ``stop``."""
    first = np.full(len(catalogue.start), stop, dtype=np.int64)
    for calls in cohort.calls(stop):
        carried = calls.carried
        first[carried] = np.minimum(first[carried], calls.index)
    return first


_JOINT_GT = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint8).reshape(4, 4)


def write_joint(cohort: Cohort, genomes: int, path: Path, catalogue: Catalogue) -> int:
    """The first ``genomes`` genomes as one joint-called, multi-sample BCF (what a joint
    caller plus a GQ/DP filter would write): one biallelic record per distinct allele they
    carry; 0/1 or 1/1 where a genome's counted record carries it, ./. where its record is not
    counted or the site lies in one of its uncallable stretches, 0/0 elsewhere. Memory: one
    byte per site and genome. Returns the number of records."""
    first = first_carrier(cohort, genomes, catalogue)
    sites = np.flatnonzero(first < genomes)
    row_of = np.full(len(catalogue.start), -1, dtype=np.int64)
    row_of[sites] = np.arange(len(sites))
    positions = catalogue.start[sites]
    codes = np.zeros((len(sites), genomes), dtype=np.uint8)
    for calls in cohort.calls(genomes):
        lows = np.searchsorted(positions, calls.dip_start).tolist()
        highs = np.searchsorted(positions, calls.dip_end).tolist()
        for low, high in zip(lows, highs, strict=True):
            codes[low:high, calls.index] = 3
        rows = row_of[calls.alleles]
        mine = rows >= 0
        codes[rows[mine], calls.index] = np.where(calls.counted[mine], calls.genotype[mine], 3)
    bcftools = shutil.which("bcftools")
    if bcftools is None:
        raise RuntimeError("bcftools is needed to write the joint-called BCF")
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [bcftools, "view", "--no-version", "-Ob", "-l", "1", "-o", str(path), "-"]
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert encoder.stdin is not None
    encoder.stdin.write(header([sample_name(i) for i in range(genomes)], gvcf=False).encode())
    for low in range(0, len(sites), 2_000):
        block = sites[low : low + 2_000]
        text = _JOINT_GT[codes[low : low + 2_000]]  # (rows, genomes, 4)
        text[:, -1, 3] = ord("\n")
        lines = text.reshape(len(block), genomes * 4)
        out = []
        for i, allele in enumerate(block.tolist()):
            pos = REGION_START + int(catalogue.start[allele]) + 1
            ref, alt = catalogue.ref(allele), catalogue.alt(allele)
            out.append(f"{CHROM}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t".encode())
            out.append(lines[i].tobytes())
        encoder.stdin.write(b"".join(out))
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise RuntimeError("bcftools failed to encode the joint-called BCF")
    return len(sites)


def main(argv: Sequence[str] | None = None) -> None:
    """Generate a cohort ahead of a benchmark run (the benchmark reuses it):
    ``python -m tests.benchmarks.frequency_cohort --genomes 60005``."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.frequency_cohort")
    parser.add_argument("--genomes", type=int, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--folder", type=Path, help="default: the benchmark's cohort folder")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    folder = args.folder or default_folder(args.seed)
    began = time.perf_counter()

    def shown(done: int, todo: int) -> None:
        if done % 20 == 0 or done == todo:
            rate = done * CHUNK / (time.perf_counter() - began)
            print(f"{done}/{todo} chunks of {CHUNK} genomes, {rate:.0f} files/s", flush=True)

    made = generate(folder, args.genomes, seed=args.seed, workers=args.workers, progress=shown)
    print(
        f"{folder}: {made.made:,} genomes generated in {made.seconds:.0f} s"
        f" ({made.files_per_second:.0f} files/s, {made.workers} processes)"
    )


def default_folder(seed: int = SEED) -> Path:
    """Where the benchmark keeps its cohort of ``seed``."""
    return DATA / f"cohort-{VERSION}-{seed}"


if __name__ == "__main__":
    main()

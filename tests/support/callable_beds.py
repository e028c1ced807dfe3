"""Callable-regions BEDs for the per-genome files of ``tests.support.per_genome``, and the
field's counts for them (decision record 0024's proof).

- :func:`callable_beds`: one BED per single-sample file, seeded: callable stretches with holes
  between them. Most holes start and end exactly at positions of the joint file's records
  (0-based, half-open: a record at a hole's start is outside, one at its end inside), so an
  off-by-one shows; the holes hold sites the sample carries and sites it does not. The BEDs are
  written the ways pipelines write them: ``chr22`` or ``22``, plain or gzipped, sorted or not,
  with comment and ``track`` lines, overlapping intervals, and intervals on a contig the VCFs
  have no record on.
- :func:`bcftools_counts_with_beds`: ``bcftools merge -0`` of the files, each sample's
  genotypes outside its BED set missing (pysam), then ``bcftools +fill-tags``.
"""

from __future__ import annotations

import gzip
import random
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

import pysam

from tests.support.per_genome import Counts, bcftools, bcftools_counts

Intervals = list[tuple[int, int]]  # 0-based, half-open, sorted, not overlapping


def record_positions(files: Sequence[Path]) -> list[int]:
    """The 1-based positions of the files' records, sorted, each once."""
    found: set[int] = set()
    for path in files:
        found.update(int(p) for p in bcftools("query", "-f", r"%POS\n", path).split())
    return sorted(found)


def callable_intervals(positions: Sequence[int], rng: random.Random) -> Intervals:
    """Callable stretches over the records' range with holes between them: most holes from
    one record's 0-based start to another's, some at arbitrary positions."""
    intervals: Intervals = []
    cursor = max(0, positions[0] - 5_000)
    n = 0
    while n < len(positions):
        n += rng.randint(5, 40)  # records in the next callable stretch
        if n >= len(positions):
            break
        if rng.random() < 0.7:  # a hole [record n's start, record m's start)
            hole_start = positions[n] - 1
            n += rng.randint(1, 12)
            hole_end = positions[min(n, len(positions) - 1)] - 1
        else:  # a hole at arbitrary positions
            hole_start = positions[n] - rng.randint(2, 300)
            hole_end = hole_start + rng.randint(1, 3_000)
            n = bisect_right(positions, hole_end)
        if hole_start > cursor:
            intervals.append((cursor, hole_start))
        cursor = max(cursor, hole_end)
    intervals.append((cursor, positions[-1] + 5_000))
    return intervals


def write_bed(path: Path, intervals: Intervals, style: int, rng: random.Random) -> Path:
    """The intervals as a BED in one of four styles (see the module doc)."""
    chrom = "chr22" if style % 2 == 0 else "22"
    lines = [f"{chrom}\t{start}\t{end}\tCALLABLE" for start, end in intervals]
    if style == 2:  # unsorted, overlapping pieces, header lines
        lines += [f"{chrom} {start} {min(end, start + 50)}" for start, end in intervals[::3]]
        rng.shuffle(lines)
        lines = ["# callable regions", 'track name="callable"', *lines]
    if style == 3:  # another contig, which the VCFs do not have: not used
        lines.append("chr21\t1000\t2000\tCALLABLE")
    text = "\n".join(lines) + "\n"
    if style == 1:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def callable_beds(files: Sequence[Path], folder: Path, seed: int = 24) -> list[Path]:
    """One BED per file (see the module doc), in the files' order."""
    positions = record_positions(files)
    rng = random.Random(seed)
    beds = []
    for style, path in enumerate(files):
        name = path.name.removesuffix(".vcf.gz") + (".bed.gz" if style % 4 == 1 else ".bed")
        intervals = callable_intervals(positions, rng)
        beds.append(write_bed(folder / name, intervals, style % 4, rng))
    return beds


def read_intervals(bed: Path) -> Intervals:
    """A BED written by :func:`write_bed`, back as sorted, merged chr22 intervals."""
    raw = bed.read_bytes()
    text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    pairs = sorted(
        (int(f[1]), int(f[2]))
        for f in (line.split() for line in text.splitlines())
        if f and f[0] in ("chr22", "22")
    )
    merged: Intervals = []
    for start, end in pairs:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def inside(intervals: Intervals, position: int) -> bool:
    """Whether 0-based ``position`` is in one of the sorted ``intervals``."""
    n = bisect_right(intervals, (position, float("inf"))) - 1
    return n >= 0 and position < intervals[n][1]


def bcftools_counts_with_beds(files: Sequence[Path], beds: Sequence[Path], work: Path) -> Counts:
    """AC, AN and homozygous ALT genotypes per allele of ``bcftools merge -0`` after each
    sample's genotypes outside its BED are set missing."""
    merged = work / "merged.vcf.gz"
    bcftools("merge", "-0", "-m", "none", "-Oz", "-o", merged, *files)
    masks = {}
    for path, bed in zip(files, beds, strict=True):
        (sample,) = bcftools("query", "-l", path).split()
        masks[sample] = read_intervals(bed)
    masked = work / "masked.vcf.gz"
    bcftools("index", "-t", merged)
    source = pysam.VariantFile(str(merged))
    with source, pysam.VariantFile(str(masked), "wz", header=source.header) as out:
        for record in source:
            for sample, intervals in masks.items():
                if not inside(intervals, record.start):
                    record.samples[sample]["GT"] = (None, None)
            out.write(record)
    return bcftools_counts([masked])

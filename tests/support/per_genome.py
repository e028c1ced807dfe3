"""Genomes as the national database receives them, built from the shared 1000 Genomes chr22
VCF with bcftools, and the field's reference counts for them (issue #18's proof).

- :func:`joint_subset`: a multi-sample (joint-called) VCF of some samples, multi-allelic
  records split, as a cohort VCF is loaded today.
- :func:`per_genome_files`: one single-sample VCF per sample holding only the sites where that
  genome carries an ALT, as a per-genome pipeline writes it.
- :func:`per_genome_gvcfs`: one single-sample gVCF per sample: its calls and reference blocks
  (``<NON_REF>``, ``END``) between them, with seeded dips: blocks of GQ 5 or MIN_DP 3, calls
  of GQ 5, stretches without any block, and one 20 kb hole in one genome.
- :func:`bcftools_counts`: AC, AN and homozygous-ALT genotypes per allele from ``bcftools
  merge`` (``-0``: a site absent from a file is reference there; ``-g``: gVCF blocks, after
  ``+setGT`` masked GQ < 20 and MIN_DP < 10) and ``bcftools +fill-tags``.
"""

from __future__ import annotations

import random
import subprocess
from bisect import bisect_left, bisect_right
from collections import Counter as Tally
from collections.abc import Sequence
from pathlib import Path

import pysam
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.alleles import Counter, group_alleles
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.beacon.store.variant_rows import VariantRepository
from tests.conftest import shared_path

THOUSAND_GENOMES = shared_path("data") / "vcf" / "test_1000G_hg38.vcf.gz"
# (chrom without "chr", 1-based position, ref, alt) -> (AC, AN, homozygous ALT genotypes)
Counts = dict[tuple[str, int, str, str], tuple[int, int, int]]


def bcftools(*args: str | Path) -> str:
    done = subprocess.run(
        ["bcftools", *map(str, args)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bcftools {' '.join(map(str, args[:3]))}: {done.stderr.strip()}")
    return done.stdout


def samples_of(path: Path = THOUSAND_GENOMES) -> list[str]:
    return bcftools("query", "-l", path).split()


def joint_subset(samples: Sequence[str], out: Path) -> Path:
    """The samples' columns of the shared VCF, multi-allelic records split, indexed."""
    split = out.with_suffix(".split.vcf.gz")
    bcftools("norm", "-m-", "-Oz", "-o", split, THOUSAND_GENOMES)
    bcftools("view", "-s", ",".join(samples), "-Oz", "-o", out, split)
    bcftools("index", "-t", out)
    split.unlink()
    return out


def per_genome_files(samples: Sequence[str], folder: Path) -> list[Path]:
    """One file per sample: its column, only where it carries an ALT (``-c1`` after trimming
    the ALTs it does not carry), indexed."""
    folder.mkdir(parents=True, exist_ok=True)
    joint = joint_subset(samples, folder / "joint.vcf.gz")
    files = []
    for sample in samples:
        path = folder / f"{sample}.vcf.gz"
        bcftools("view", "-s", sample, "-a", "-c1", "-Oz", "-o", path, joint)
        bcftools("index", "-t", path)
        files.append(path)
    return files


GVCF_HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=chr22,length=50818468>",
    '##ALT=<ID=NON_REF,Description="Any other allele">',
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End of the reference block">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum depth in the block">',
]


def per_genome_gvcfs(samples: Sequence[str], folder: Path, seed: int = 18) -> list[Path]:
    """One gVCF per sample (see the module doc). Blocks start at every position any genome has
    a record at (the base there is the records' first REF base; elsewhere ``N``), so ``bcftools
    merge -g`` needs no reference sequence. Positions holding two records of the joint file
    (14 in the shared file), or inside another record's REF, are left out of every genome:
    ``merge -g`` fills a block only into a record its block starts at and covers whole."""
    folder.mkdir(parents=True, exist_ok=True)
    joint = joint_subset(samples, folder / "joint.vcf.gz")
    table = bcftools("query", "-f", r"%POS\t%REF\t%ALT[\t%GT]\n", joint)
    records = [line.split("\t") for line in table.splitlines()]
    seen = Tally(int(r[0]) for r in records)
    reach: dict[int, int] = {}
    for r in records:
        reach[int(r[0])] = max(reach.get(int(r[0]), 0), int(r[0]) + len(r[1]))
    starts = sorted(reach)
    inside = {
        q
        for p, end in reach.items()
        for q in starts[bisect_right(starts, p) : bisect_left(starts, end)]
    }
    left_out = {pos for pos, n in seen.items() if n > 1} | inside
    base = {int(r[0]): r[1][0] for r in records}
    edges = sorted(set(base) - inside)
    last = max(int(r[0]) + len(r[1]) for r in records) + 100
    rng = random.Random(seed)
    files = []
    for column, sample in enumerate(samples):
        carried = {
            int(r[0]): (r[1], r[2], r[3 + column])
            for r in records
            if int(r[0]) not in left_out and "1" in r[3 + column]
        }
        middle = edges[len(edges) // 3]
        hole = range(middle, middle + 20_000) if column == 1 else range(0)
        lines = []
        for n, pos in enumerate(edges):
            following = edges[n + 1] if n + 1 < len(edges) else last
            if pos in hole:
                continue
            block_start, block_ref = pos, base[pos]
            if pos in left_out:
                block_start, block_ref = pos + 1, "N"
            elif pos in carried:
                ref, alt, genotype = carried[pos]
                quality = 5 if rng.random() < 0.03 else 99
                lines.append(
                    f"chr22\t{pos}\t.\t{ref}\t{alt},<NON_REF>\t.\t.\t.\tGT:GQ:DP\t"
                    f"{genotype}:{quality}:30"
                )
                block_start, block_ref = pos + 1, "N"
            roll = rng.random()
            if block_start > following - 1 or roll < 0.02:  # none: a stretch nobody covers
                continue
            quality, depth = (5, 25) if roll < 0.05 else (40, 3) if roll < 0.08 else (40, 25)
            lines.append(
                f"chr22\t{block_start}\t.\t{block_ref}\t<NON_REF>\t.\t.\tEND={following - 1}"
                f"\tGT:GQ:MIN_DP\t0/0:{quality}:{depth}"
            )
        header = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"])
        plain = folder / f"{sample}.g.vcf"
        text = "\n".join([*GVCF_HEADER, f"{header}\tFORMAT\t{sample}", *lines]) + "\n"
        plain.write_text(text, encoding="utf-8")
        path = folder / f"{sample}.g.vcf.gz"
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
        bcftools("index", "-t", path)
        files.append(path)
    return files


def _masked(path: Path) -> Path:
    """The gVCF with genotypes of GQ < 20, then MIN_DP < 10, set missing (``+setGT``)."""
    out = path.with_name(path.name.replace(".g.vcf.gz", ".masked.vcf.gz"))
    quality = bcftools("+setGT", path, "--", "-t", "q", "-n", ".", "-i", "FMT/GQ<20")
    depth = subprocess.run(
        ["bcftools", "+setGT", "-", "-Oz", "-o", str(out), "--", "-t", "q", "-n", ".",
         "-i", "FMT/MIN_DP<10"],
        input=quality, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert depth.returncode == 0
    bcftools("index", "-t", out)
    return out


def bcftools_counts(
    files: Sequence[Path], *, absent_is_reference: bool = True, gvcf: bool = False
) -> Counts:
    """Per allele of the merged files: AC, AN and homozygous ALT genotypes."""
    if gvcf:
        merged = bcftools("merge", "-g", "-", *map(_masked, files))  # -m none keeps blocks apart
        merged = subprocess.run(
            ["bcftools", "view", "--trim-alt-alleles", "-"],
            input=merged, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    elif len(files) == 1:
        merged = bcftools("view", files[0])
    else:
        absent = ["-0"] if absent_is_reference else []
        merged = bcftools("merge", *absent, "-m", "none", *files)
    filled = subprocess.run(
        ["bcftools", "+fill-tags", "-", "--", "-t", "AC,AN,AC_Hom"],
        input=merged, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    table = subprocess.run(
        ["bcftools", "query", "-f", r"%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\t%AC_Hom\n", "-"],
        input=filled, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    counts: Counts = {}
    for line in table.splitlines():
        chrom, pos, ref, alt, ac, an, ac_hom = line.split("\t")
        if alt == "." or int(ac) == 0:
            continue
        counts[(chrom.removeprefix("chr"), int(pos), ref, alt)] = (
            int(ac), int(an), int(ac_hom) // 2,
        )  # fmt: skip
    return counts


def node_counts(sessions: sessionmaker[Session], dataset: str, alleles: Counts) -> Counts:
    """The node's counts of the same alleles in the whole dataset, as served (exact)."""
    out: Counts = {}
    with sessions() as session:
        scopes = ScopeCache().get(session)
        repo = VariantRepository(session, scopes.max_span)
        counter = Counter(scopes, repo.carrier_bits, repo.uncalled_at)
        scope = scopes.datasets[dataset]
        for chrom, pos, ref, alt in alleles:
            key = AlleleKey("GRCh38", chrom, pos - 1, ref, alt)  # a 0-based start
            found = group_alleles(repo.by_allele(key, [dataset]))
            counts = counter.counts(found[0], scope) if found else AlleleCounts(0, 0, 0, 0)
            out[(chrom, pos, ref, alt)] = (
                counts.allele_count, counts.allele_number, counts.homozygous,
            )  # fmt: skip
    return out

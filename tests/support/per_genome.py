"""Genomes as the national database receives them, built from the shared 1000 Genomes chr22
VCF with bcftools, and the field's reference counts for them (issue #18's proof).

- :func:`joint_subset`: a multi-sample (joint-called) VCF of some samples, multi-allelic
  records split, as a cohort VCF is loaded today.
- :func:`per_genome_files`: one single-sample VCF per sample holding only the sites where that
  genome carries an ALT, as a per-genome pipeline writes it.
- :func:`bcftools_counts`: AC, AN and homozygous-ALT genotypes per allele from ``bcftools
  merge`` (``-0``: a site absent from a file is reference there) and ``bcftools +fill-tags``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

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


def bcftools_counts(files: Sequence[Path], *, absent_is_reference: bool = True) -> Counts:
    """Per allele of the merged files: AC, AN and homozygous ALT genotypes."""
    if len(files) == 1:
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

"""A synthetic national cohort for the Beacon benchmark: N variants x S samples as a BCF,
generated with numpy (genotype text built as byte arrays) and encoded by ``bcftools view -Ob``
in a second process.

Carrier counts are log-uniform between 1 and S, so most variants are rare, as in real
whole-genome data; 10 % are indels. Each variant's carriers are drawn at random, homozygous
with probability equal to the allele frequency. 1 % of the variants fall in one of 500 "genes"
(``ANN``, with a protein change) for the gene and amino-acid queries. Deterministic per seed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHROMOSOMES = tuple(str(n) for n in range(1, 23))
# GRCh38 lengths in Mb (rounded), for spreading variants like a genome
LENGTHS_MB = (248, 242, 198, 190, 181, 171, 159, 145, 138, 134, 135, 133, 114, 107, 102, 90, 83,
              80, 59, 64, 47, 51)  # fmt: skip
GENES = 500
_GT = np.frombuffer(b"0/0\t0/1\t1/1\t", dtype=np.uint8).reshape(3, 4)
_BASES = np.array(list(b"ACGT"), dtype=np.uint8)
ANN_HEADER = (
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele |"
    " Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID |"
    " Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos /"
    " CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO'\">"
)


@dataclass(frozen=True)
class Cohort:
    path: Path
    variants: int
    samples: int
    positions: dict[str, tuple[int, int]]  # chromosome -> (first, last) 1-based position
    gene_names: tuple[str, ...]


def _header(samples: int) -> bytes:
    lines = ["##fileformat=VCFv4.3", ANN_HEADER]
    lines += [
        f"##contig=<ID=chr{c},length={mb * 1_000_000}>"
        for c, mb in zip(CHROMOSOMES, LENGTHS_MB, strict=True)
    ]
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
    lines.append("\t".join(columns + [f"S{n:05d}" for n in range(samples)]))
    return ("\n".join(lines) + "\n").encode()


def _chunks(variants: int, samples: int, seed: int, chunk: int = 2000) -> Iterator[bytes]:
    rng = np.random.default_rng(seed)
    total_mb = sum(LENGTHS_MB)
    per_chrom = [variants * mb // total_mb for mb in LENGTHS_MB]
    per_chrom[0] += variants - sum(per_chrom)
    for chrom, count, mb in zip(CHROMOSOMES, per_chrom, LENGTHS_MB, strict=True):
        step = max(1, (mb * 1_000_000 - 20_000) // max(count, 1))
        positions = 10_000 + np.arange(count, dtype=np.int64) * step
        for first in range(0, count, chunk):
            yield _records(rng, f"chr{chrom}", positions[first : first + chunk], samples)


def _records(rng: np.random.Generator, chrom: str, positions: np.ndarray, samples: int) -> bytes:
    n = len(positions)
    carriers = np.exp(rng.uniform(0, np.log(samples), n)).astype(np.int64).clip(1, samples)
    codes = np.zeros((n, samples), dtype=np.uint8)
    for row, k in enumerate(carriers):
        chosen = rng.choice(samples, size=k, replace=False) if k < samples else np.arange(samples)
        hom = rng.random(k) < (k / samples)
        codes[row, chosen] = np.where(hom, 2, 1)
    text = _GT[codes]  # (n, samples, 4)
    text[:, -1, 3] = ord("\n")
    genotypes = text.reshape(n, samples * 4)
    refs = _BASES[rng.integers(0, 4, n)]
    alts = _BASES[(rng.integers(1, 4, n) + np.searchsorted(_BASES, refs)) % 4]
    indel = rng.random(n) < 0.10
    genic = rng.random(n) < 0.01
    gene_of = rng.integers(0, GENES, n)
    out = []
    for i in range(n):
        ref, alt = chr(refs[i]), chr(alts[i])
        if indel[i]:
            ref, alt = (ref, ref + alt) if i % 2 else (ref + alt, ref)
        info = "."
        if genic[i] and not indel[i]:
            gene = f"GENE{gene_of[i]:03d}"
            info = (
                f"ANN={alt}|missense_variant|MODERATE|{gene}|ENSG{gene_of[i]:011d}|transcript|"
                f"ENST{gene_of[i]:011d}|protein_coding|1/1|c.{100 + i}{ref}>{alt}|"
                f"p.Val{100 + gene_of[i]}Glu|||||"
            )
        out.append(f"{chrom}\t{positions[i]}\t.\t{ref}\t{alt}\t.\tPASS\t{info}\tGT\t".encode())
        out.append(genotypes[i].tobytes())
    return b"".join(out)


def generate_cohort(path: Path, variants: int, samples: int, seed: int = 20261122) -> Cohort:
    """Write the cohort to ``path`` (BCF) unless a complete one is there already."""
    done = path.with_name(path.name + ".done")
    if not (path.exists() and done.exists()):
        bcftools = shutil.which("bcftools")
        if bcftools is None:
            raise RuntimeError("bcftools is needed to write the cohort (apt-get install bcftools)")
        path.parent.mkdir(parents=True, exist_ok=True)
        command = [bcftools, "view", "--no-version", "-Ob", "-l", "1", "-o", str(path), "-"]
        encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
        assert encoder.stdin is not None
        encoder.stdin.write(_header(samples))
        for chunk in _chunks(variants, samples, seed):
            encoder.stdin.write(chunk)
        encoder.stdin.close()
        if encoder.wait() != 0:
            raise RuntimeError("bcftools failed to encode the cohort")
        done.write_text(f"{variants} {samples} {seed}\n", encoding="utf-8")
    total_mb = sum(LENGTHS_MB)
    positions = {}
    for chrom, mb in zip(CHROMOSOMES, LENGTHS_MB, strict=True):
        count = variants * mb // total_mb
        step = max(1, (mb * 1_000_000 - 20_000) // max(count, 1))
        positions[chrom] = (10_000, 10_000 + (count - 1) * step)
    return Cohort(path, variants, samples, positions, tuple(f"GENE{g:03d}" for g in range(GENES)))

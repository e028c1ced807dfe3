"""Small VCFs written by the tests (multi-allelic, missing, haploid, annotated), and helpers to
load them and count alleles the way the Beacon does."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pysam
from pyroaring import BitMap
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.beacon.model.carriers import AlleleCounts
from gdi_node.beacon.model.variants import AlleleKey
from gdi_node.beacon.queries.alleles import Counter, group_alleles
from gdi_node.beacon.queries.scopes import ScopeCache
from gdi_node.beacon.store.variant_rows import VariantRepository

ANN_HEADER = (
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele |"
    " Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID |"
    " Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos /"
    " CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO'\">"
)
CSQ_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP.'
    " Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|"
    'HGVSc|HGVSp|ALLELE_NUM">'
)


def write_vcf(
    path: Path,
    samples: Sequence[str],
    records: Sequence[str],
    *,
    headers: Sequence[str] = (),
    contigs: Sequence[str] = ("chr22", "chrX"),
    bgzip: bool = True,
) -> Path:
    """A VCF 4.3 with ``records`` (tab-separated lines without the sample columns' header)."""
    lines = ["##fileformat=VCFv4.3"]
    lines += [f"##contig=<ID={c}>" for c in contigs]
    lines += [
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
        *headers,
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + ("\t" + "\t".join(samples) if samples else ""),
        *records,
    ]
    text = "\n".join(lines) + "\n"
    if not bgzip:
        with gzip.open(path, "wt", encoding="utf-8") as handle:  # plain gzip, not BGZF
            handle.write(text)
        return path
    plain = path.with_suffix("")
    plain.write_text(text, encoding="utf-8")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    return path


def allele_counts(
    sessions: sessionmaker[Session],
    key: AlleleKey,
    dataset: str,
    group: tuple[str, str] | None = None,
) -> AlleleCounts:
    """Counts of one allele within a dataset (or a population/cohort of it), as served."""
    with sessions() as session:
        scopes = ScopeCache().get(session)
        repo = VariantRepository(session, scopes.max_span)
        rows = repo.by_allele(key, [dataset])
        scope = scopes.datasets.get(dataset, BitMap())
        if group is not None:
            scope = scope & scopes.groups.get(group, BitMap())
        alleles = group_alleles(rows)
        if not alleles:
            return AlleleCounts(0, 0, 0, 0)
        return Counter(scopes, repo.carrier_bits, repo.uncalled_at).counts(alleles[0], scope)


def table_counts(sessions: sessionmaker[Session]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from gdi_node.db.models import (
        BeaconCallset,
        BeaconSample,
        BeaconSampleGroup,
        BeaconVariant,
        BeaconVariantBin,
        BeaconVariantTerm,
    )

    with sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (
                BeaconCallset,
                BeaconSample,
                BeaconSampleGroup,
                BeaconVariant,
                BeaconVariantBin,
                BeaconVariantTerm,
            )
        }

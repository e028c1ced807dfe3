"""What an allele row of the frequency database says besides its carriers, from a VCF record
(VCF 4.3 §1.6.1): its end, variant type, annotation document (genes, effects, HGVS from ``ANN``
/ ``CSQ``, the FILTER of the counted records bringing it) and search terms. One place, so that
a multi-sample load (gdi_node.beacon.ingest.vcf) and a genome read on its own
(gdi_node.beacon.ingest.genome_reader) describe an allele alike."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cyvcf2 import VCF

from gdi_node.beacon.model.annotations import AlleleAnnotation, AnnotationFormat, dbsnp_xrefs
from gdi_node.beacon.model.assemblies import Assembly
from gdi_node.beacon.model.variants import genomic_hgvs, variant_type

Term = tuple[str, str]  # (kind, term): ("gene", "BRCA2"), ("hgvs", …)
MAX_TERM = 255  # beacon_variant_terms.term
PLACEHOLDER_ALTS = frozenset({"*", "<*>", "<NON_REF>"})  # not alleles of a site


@dataclass(frozen=True)
class AlleleDescription:
    end: int
    variant_type: str
    annotation: str  # the annotation document as compact JSON
    terms: tuple[Term, ...]


def annotation_formats(vcf: VCF) -> list[AnnotationFormat]:
    """The ``ANN`` (SnpEff) and ``CSQ`` (VEP) layouts the header declares."""
    formats = []
    for info_id in ("ANN", "CSQ"):
        try:
            header = vcf.get_header_type(info_id)
        except KeyError:
            continue
        found = AnnotationFormat.from_header(info_id, str(header.get("Description", "")))
        if found is not None:
            formats.append(found)
    return formats


def record_annotations(
    record: Any, alts: list[str], formats: Sequence[AnnotationFormat], *, counted: bool
) -> list[AlleleAnnotation]:
    """Per alternate allele, what the record's annotations say; a counted record names its
    FILTER (``PASS`` when missing)."""
    merged = [AlleleAnnotation() for _ in alts]
    for layout in formats:
        value = record.INFO.get(layout.info_id)
        if not value:
            continue
        for into, found in zip(merged, layout.parse(str(value), alts), strict=True):
            into.merge(found)
    xrefs = dbsnp_xrefs(str(record.ID or ""))
    for annotation in merged:
        annotation.xrefs |= xrefs
    if counted:
        for annotation in merged:
            annotation.filters.add(record.FILTER or "PASS")
    return merged


def describe_allele(
    assembly: Assembly,
    chrom: str,
    *,
    pos: int,
    ref: str,
    alt: str,
    end_info: int | None,
    note: AlleleAnnotation,
) -> AlleleDescription:
    """The row of allele ``alt`` of the record at 1-based ``pos`` on ``chrom`` (canonical): a
    symbolic allele with ``INFO/END`` ends there, others after REF. Every row covers at least
    the base at ``pos`` (VCF 4.3 section 1.6.1: REF is never empty, END is at or after POS),
    which range counts from bins rely on (gdi_node.beacon.store.variant_bins)."""
    start = pos - 1
    end = int(end_info) if alt.startswith("<") and end_info else start + len(ref)
    end = max(end, start + 1)
    accession = assembly.accession(chrom)
    hgvs = genomic_hgvs(accession, pos, ref, alt) if accession else None
    terms = [("gene", g) for g in note.genes]
    terms += [("aachange", a) for a in note.aminoacid_changes]
    terms += [("hgvs", hgvs)] if hgvs else []
    # transcript and protein HGVS with their reference sequence (``NM_007294.4:c.5266dupC``)
    terms += [("hgvs", h) for h in sorted(note.hgvs) if ":" in h and len(h) <= MAX_TERM]
    terms += [("xref", x) for x in sorted(note.xrefs)]
    document = note.document()
    if hgvs:
        document["genomicHgvs"] = [hgvs]
    annotation = json.dumps(document, separators=(",", ":"))
    return AlleleDescription(end, variant_type(ref, alt), annotation, tuple(terms))

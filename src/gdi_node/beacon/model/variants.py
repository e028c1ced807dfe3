"""Variant alleles: coordinates, types and genomic HGVS (Beacon v2 g_variants, VRS 1.3).

Coordinates are 0-based half-open (``start``, ``end``) as in Beacon v2 requests and VRS
``SequenceInterval``; a VCF ``POS`` p with reference ``R`` covers ``[p-1, p-1+len(R))``; a
symbolic allele covers up to its ``INFO/END``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Beacon ``variantType`` values and ontology terms -> the stored types they match. Sequence-
# resolved changes are SNP, MNP, DEL, INS, INDEL (complex); symbolic structural alleles are
# stored as SV:<type>. A DEL query finds both kinds of deletion; INDEL only resolved ones.
_TYPE_TERMS = {
    "SNP": {"SNP"},
    "SNV": {"SNP"},
    "SO:0001483": {"SNP"},
    "MNP": {"MNP"},
    "MNV": {"MNP"},
    "SO:0002007": {"MNP"},
    "DEL": {"DEL", "SV:DEL"},
    "SO:0000159": {"DEL", "SV:DEL"},
    "INS": {"INS", "SV:INS"},
    "SO:0000667": {"INS", "SV:INS"},
    "INDEL": {"DEL", "INS", "INDEL"},
    "SO:1000032": {"DEL", "INS", "INDEL"},
    "DUP": {"SV:DUP"},
    "SO:1000035": {"SV:DUP"},
    "CNV": {"SV:CNV", "SV:DUP", "SV:DEL"},
    "SO:0001019": {"SV:CNV", "SV:DUP", "SV:DEL"},
    "EFO:0030067": {"SV:DEL", "SV:CNV"},  # copy number loss
    "EFO:0030070": {"SV:DUP", "SV:CNV"},  # copy number gain
    "INV": {"SV:INV"},
    "SO:1000036": {"SV:INV"},
    "BND": {"SV:BND"},
}
VARIANT_TYPE_TERMS = tuple(_TYPE_TERMS)
_SYMBOLIC = {"<DEL>", "<INS>", "<DUP>", "<CNV>", "<INV>"}


def stored_types(term: str) -> set[str] | None:
    """The stored variant types a ``variantType`` term matches, None if it is unknown."""
    return _TYPE_TERMS.get(term.upper() if ":" not in term else term)


def variant_type(ref: str, alt: str) -> str:
    if alt.startswith("<"):
        base = alt.split(":", 1)[0] + (">" if ":" in alt else "")
        return f"SV:{base[1:-1]}" if base in _SYMBOLIC else "SV:OTHER"
    if "[" in alt or "]" in alt:
        return "SV:BND"
    if len(ref) == len(alt):
        return "SNP" if len(ref) == 1 else "MNP"
    if alt.startswith(ref) or ref.startswith(alt) or ref[0] == alt[0]:
        return "DEL" if len(ref) > len(alt) else "INS"
    return "INDEL"


def variant_length(ref: str, alt: str, start: int, end: int) -> int:
    """Length of the change: 1 for an SNP, inserted or deleted bases, or the SV span."""
    kind = variant_type(ref, alt)
    if kind in {"SNP", "MNP"}:
        return len(ref)
    if kind in {"DEL", "INS"}:
        return abs(len(ref) - len(alt))
    if kind == "INDEL":
        return max(len(ref), len(alt))
    return end - start


def _trim(position: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Drop a shared suffix, then a shared prefix (1-based ``position`` follows the prefix)."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, position = ref[1:], alt[1:], position + 1
    return position, ref, alt


def genomic_hgvs(accession: str, position: int, ref: str, alt: str) -> str | None:
    """HGVS genomic form (``NC_000022.11:g.10516173A>G``); None for symbolic alleles.

    ``position`` is the 1-based VCF ``POS``. Insertions are written ``ins`` (deciding ``dup``
    needs the reference sequence, which the node does not hold).
    """
    if alt.startswith("<") or "[" in alt or "]" in alt or alt == "*":
        return None
    if len(ref) == 1 and len(alt) == 1:
        return f"{accession}:g.{position}{ref}>{alt}"
    start, r, a = _trim(position, ref, alt)
    if not r and a:  # insertion between start-1 and start
        return f"{accession}:g.{start - 1}_{start}ins{a}"
    span = f"{start}" if len(r) == 1 else f"{start}_{start + len(r) - 1}"
    if r and not a:
        return f"{accession}:g.{span}del"
    return f"{accession}:g.{span}delins{a}"


@dataclass(frozen=True)
class AlleleKey:
    """One allele, independent of the callsets that hold it."""

    assembly: str
    chrom: str
    start: int  # 0-based
    ref: str
    alt: str

    @property
    def position(self) -> int:
        return self.start + 1

    def variant_id(self) -> str:
        """The node's g_variant id: ``GRCh38:22:10516173:A:G`` (1-based position, VCF style)."""
        return f"{self.assembly}:{self.chrom}:{self.position}:{self.ref}:{self.alt}"

    @classmethod
    def parse(cls, variant_id: str) -> AlleleKey | None:
        parts = variant_id.split(":")
        if len(parts) != 5 or not parts[2].isdigit() or int(parts[2]) < 1:
            return None
        assembly, chrom, position, ref, alt = parts
        return cls(assembly, chrom, int(position) - 1, ref, alt)

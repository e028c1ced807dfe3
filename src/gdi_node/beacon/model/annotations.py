"""Functional annotations of VCF records: SnpEff ``ANN`` and Ensembl VEP ``CSQ`` INFO fields.

Both are lists of ``|``-separated entries whose field names the header declares (SnpEff:
"Functional annotations: 'Allele | Annotation | ...'"; VEP: "... Format: Allele|Consequence|...").
Per alternate allele they give the gene symbols, genomic/coding/protein HGVS, amino-acid changes
in the short form Beacon queries use (``V600E``, Beacon v2 ``aminoacidChange``) and molecular
effects as Sequence Ontology terms (``beacon/reference/molecular_effects.yaml``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from gdi_node.resources import shipped_dir

_THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O",
}  # fmt: skip
_PROTEIN_SUBSTITUTION = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|=|\*)\)?$")
_HEADER_FIELDS = re.compile(r"(?:Format:\s*|')\s*([A-Za-z_.]+(?:\s*\|\s*[A-Za-z0-9_./]+)+)")
_NAMES = {  # our key -> the field names of SnpEff and VEP
    "allele": ("Allele",),
    "effects": ("Annotation", "Consequence"),
    "gene": ("Gene_Name", "SYMBOL"),
    "hgvs_c": ("HGVS.c", "HGVSc"),
    "hgvs_p": ("HGVS.p", "HGVSp"),
    "feature": ("Feature_ID", "Feature"),
    "allele_num": ("ALLELE_NUM",),
    "existing": ("Existing_variation",),
}
_RSID = re.compile(r"^rs[0-9]+$")


def dbsnp_xrefs(ids: str) -> set[str]:
    """The dbSNP ids among ``ids`` (a VCF ID column, ``;``-separated, or VEP's
    ``Existing_variation``, ``&``-separated) as CURIEs: ``rs80357906`` -> ``dbSNP:rs80357906``."""
    parts = re.split(r"[;&,]", ids)
    return {f"dbSNP:{p.strip()}" for p in parts if _RSID.match(p.strip())}


@functools.lru_cache(maxsize=1)
def molecular_effect_ids() -> dict[str, str]:
    path = shipped_dir("beacon") / "reference" / "molecular_effects.yaml"
    data: dict[str, str] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@dataclass
class AlleleAnnotation:
    """What the annotations say about one alternate allele."""

    genes: set[str] = field(default_factory=set)
    effects: set[str] = field(default_factory=set)
    hgvs: set[str] = field(default_factory=set)  # transcript:c.… and protein p.… forms
    aminoacid_changes: set[str] = field(default_factory=set)
    filters: set[str] = field(default_factory=set)  # FILTER of the counted records bringing it
    xrefs: set[str] = field(default_factory=set)  # dbSNP:rs… (VCF ID, VEP Existing_variation)
    # per transcript (feature id): gene, effects, HGVS c. and p. (VEP/SnpEff one entry each)
    transcripts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, other: AlleleAnnotation) -> None:
        """Add what ``other`` says (another annotation field or record of the same allele)."""
        self.genes |= other.genes
        self.effects |= other.effects
        self.hgvs |= other.hgvs
        self.aminoacid_changes |= other.aminoacid_changes
        self.xrefs |= other.xrefs
        for feature, entry in other.transcripts.items():
            self.transcripts.setdefault(feature, entry)

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "genes": sorted(self.genes),
            "effects": sorted(self.effects),
            "hgvs": sorted(self.hgvs),
            "aminoacidChanges": sorted(self.aminoacid_changes),
        }
        if self.filters:
            document["filters"] = sorted(self.filters)
        if self.xrefs:
            document["xrefs"] = sorted(self.xrefs)
        if self.transcripts:
            document["transcripts"] = [self.transcripts[f] for f in sorted(self.transcripts)]
        return document


def short_protein_change(hgvs_p: str) -> str | None:
    """``p.Val600Glu`` -> ``V600E`` (substitutions only; ``=`` keeps the reference residue)."""
    protein = hgvs_p.rsplit(":", 1)[-1]
    match = _PROTEIN_SUBSTITUTION.match(protein)
    if not match:
        return None
    ref, position, alt = match.groups()
    if ref not in _THREE_TO_ONE:
        return None
    one_ref = _THREE_TO_ONE[ref]
    one_alt = one_ref if alt == "=" else _THREE_TO_ONE.get(alt, "*" if alt == "*" else "")
    return f"{one_ref}{position}{one_alt}" if one_alt else None


class AnnotationFormat:
    """The layout of one annotation INFO field, parsed from its header description."""

    def __init__(self, info_id: str, fields: list[str]) -> None:
        self.info_id = info_id
        self._index = {
            key: next((fields.index(n) for n in names if n in fields), None)
            for key, names in _NAMES.items()
        }

    @classmethod
    def from_header(cls, info_id: str, description: str) -> AnnotationFormat | None:
        match = _HEADER_FIELDS.search(description)
        if not match:
            return None
        fields = [f.strip() for f in match.group(1).split("|")]
        return cls(info_id, fields)

    def _get(self, parts: list[str], key: str) -> str:
        index = self._index[key]
        return parts[index].strip() if index is not None and index < len(parts) else ""

    def parse(self, value: str, alts: list[str]) -> list[AlleleAnnotation]:
        """One annotation per alternate allele, in ``alts`` order."""
        out = [AlleleAnnotation() for _ in alts]
        for entry in value.split(","):
            parts = entry.split("|")
            for target in self._targets(parts, alts):
                self._add(out[target], parts)
        return out

    def _targets(self, parts: list[str], alts: list[str]) -> Iterable[int]:
        number = self._get(parts, "allele_num")
        if number.isdigit() and 1 <= int(number) <= len(alts):
            return [int(number) - 1]
        allele = self._get(parts, "allele")
        matches = [i for i, alt in enumerate(alts) if alt == allele]
        if matches:
            return matches
        return range(len(alts)) if len(alts) == 1 else []  # VEP trims alleles ("-", "T")

    def _add(self, into: AlleleAnnotation, parts: list[str]) -> None:
        effects = [e for e in self._get(parts, "effects").split("&") if e]
        into.effects.update(effects)
        into.xrefs |= dbsnp_xrefs(self._get(parts, "existing"))
        if {"intergenic_region", "intergenic_variant"} & set(effects):
            return  # its "gene" is a pair of flanking genes and its HGVS a genomic position
        self._add_transcript(into, parts, effects)
        gene = self._get(parts, "gene")
        if gene:
            into.genes.add(gene)
        hgvs_c = self._get(parts, "hgvs_c")
        if hgvs_c:
            feature = self._get(parts, "feature")
            has_reference = ":" in hgvs_c or not feature
            into.hgvs.add(hgvs_c if has_reference else f"{feature}:{hgvs_c}")
        hgvs_p = self._get(parts, "hgvs_p")
        if hgvs_p:
            into.hgvs.add(hgvs_p)
            change = short_protein_change(hgvs_p)
            if change:
                into.aminoacid_changes.add(change)

    def _add_transcript(self, into: AlleleAnnotation, parts: list[str], effects: list[str]) -> None:
        """One entry per transcript: what VEP's or SnpEff's line for it says."""
        feature = self._get(parts, "feature")
        if not feature or feature in into.transcripts:
            return
        entry = {"feature": feature, "gene": self._get(parts, "gene"), "effects": effects}
        for key in ("hgvs_c", "hgvs_p"):
            value = self._get(parts, key)
            if value:
                entry[key.replace("_", "")] = value.rsplit(":", 1)[-1]
        into.transcripts[feature] = entry

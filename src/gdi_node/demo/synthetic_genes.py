"""Synthetic genes of the demo and the VEP-style annotation of its variants, so that the
frequency browser has genes, consequences, HGVS and dbSNP-style ids to search and show.

Everything is derived from positions (no random state, so the rest of the demo data stay as
they were). The names say what they are: genes ``DEMOA``… on the demo's own sequences,
transcripts ``DEMOT…``, ids ``rs99…``; none is a real gene, transcript or dbSNP record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CSQ_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP'
    " (synthetic, gdi-node demo). Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|"
    'Feature|BIOTYPE|HGVSc|HGVSp|Existing_variation">'
)
_AMINO = ("Ala", "Arg", "Asn", "Asp", "Cys", "Gln", "Glu", "Gly", "His", "Ile", "Leu", "Lys")
_IMPACT = {
    "missense_variant": "MODERATE",
    "synonymous_variant": "LOW",
    "stop_gained": "HIGH",
    "frameshift_variant": "HIGH",
    "intron_variant": "MODIFIER",
    "splice_region_variant": "LOW",
}


@dataclass(frozen=True)
class DemoGene:
    symbol: str
    gene_id: str
    chrom: str
    start: int  # 1-based, inclusive
    end: int
    transcript: str


GENES = (
    DemoGene("DEMOA", "DEMOG00001", "chr1", 5_001, 25_000, "DEMOT00001.1"),
    DemoGene("DEMOB", "DEMOG00002", "chr1", 35_001, 50_000, "DEMOT00002.1"),
    DemoGene("DEMOC", "DEMOG00003", "chr2", 10_001, 30_000, "DEMOT00003.1"),
)


def gene_at(chrom: str, pos: int) -> DemoGene | None:
    """The demo gene covering 1-based ``pos`` of ``chrom``."""
    return next((g for g in GENES if g.chrom == chrom and g.start <= pos <= g.end), None)


def dbsnp_id(chrom: str, pos: int) -> str:
    """Every third site has a (synthetic) dbSNP-style id; ``.`` otherwise."""
    return f"rs99{chrom.removeprefix('chr')}{pos:06d}" if (pos // 10) % 3 == 0 else "."


def _consequence(pos: int, ref: str, alt: str) -> str:
    if len(ref) != len(alt):
        return "frameshift_variant" if (len(alt) - len(ref)) % 3 else "intron_variant"
    kind = (pos // 10) % 10
    if kind < 5:
        return "missense_variant"
    if kind < 8:
        return "synonymous_variant"
    return "stop_gained" if kind == 8 else "splice_region_variant"


def csq(chrom: str, pos: int, ref: str, alts: tuple[str, ...]) -> str | None:
    """The CSQ value of a record at 1-based ``pos``; None outside the demo genes."""
    gene = gene_at(chrom, pos)
    if gene is None:
        return None
    coding = pos - gene.start + 1  # one exon on the forward strand
    codon = (coding + 2) // 3
    entries = []
    for alt in alts:
        effect = _consequence(pos, ref, alt)
        hgvs_c = f"{gene.transcript}:c.{coding}{ref}>{alt}" if len(ref) == len(alt) == 1 else ""
        if len(ref) > len(alt):
            hgvs_c = f"{gene.transcript}:c.{coding + 1}_{coding + len(ref) - 1}del"
        elif len(alt) > len(ref):
            hgvs_c = f"{gene.transcript}:c.{coding}_{coding + 1}ins{alt[len(ref) :]}"
        ref_aa = _AMINO[codon % len(_AMINO)]
        protein = ""
        if effect == "missense_variant":
            protein = f"p.{ref_aa}{codon}{_AMINO[(codon + 5) % len(_AMINO)]}"
        elif effect == "synonymous_variant":
            protein = f"p.{ref_aa}{codon}="
        elif effect == "stop_gained":
            protein = f"p.{ref_aa}{codon}Ter"
        hgvs_p = f"{gene.transcript.replace('T', 'P', 1)}:{protein}" if protein else ""
        existing = dbsnp_id(chrom, pos)
        fields = (alt, effect, _IMPACT[effect], gene.symbol, gene.gene_id, "Transcript",
                  gene.transcript, "protein_coding", hgvs_c, hgvs_p,
                  "" if existing == "." else existing)  # fmt: skip
        entries.append("|".join(fields))
    return ",".join(entries)


def write_gene_table(path: Path) -> None:
    """The demo's gene reference (``browser.genes``): symbol, chrom, start, end, gene id."""
    rows = ["symbol\tchrom\tstart\tend\tgene_id"]
    rows += [f"{g.symbol}\t{g.chrom}\t{g.start}\t{g.end}\t{g.gene_id}" for g in GENES]
    path.write_text("".join(f"{row}\n" for row in rows), encoding="utf-8")

"""What a clinician types into the search box, read as a variant, a region, a position, an rsID,
an HGVS expression or a gene symbol (the forms gnomAD, SweFreq and BRAVO accept).

Variants are ``chrom-pos-ref-alt`` with ``-``, ``:``, ``_``, ``/`` or spaces between the parts
(``17-43045712-T-C``, ``chr17:43045712:T:C``, ``17:43045712 T>C``), optionally after an
assembly (``GRCh38:17-…``, ``hg19-…``). Regions are ``chrom:start-end`` or ``chrom-start-end``
(thousands separators allowed), 1-based and inclusive as every genome browser shows them.
Positions are 1-based. Nothing here knows the data: reading is pure (decision record 0032).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEP = r"[\s:_/-]+"
_ASSEMBLY = r"(?:(?P<assembly>GRCh3[78]|hg19|hg38|b37)" + _SEP + ")?"
_CHROM = r"(?:chr)?(?P<chrom>[0-9]{1,2}|X|Y|MT?)"
_NUMBER = r"(?P<{}>[0-9][0-9,.]*)"
VARIANT = re.compile(
    rf"^{_ASSEMBLY}{_CHROM}{_SEP}{_NUMBER.format('pos')}{_SEP}(?P<ref>[ACGTN]+)"
    rf"(?:{_SEP}|\s*>\s*)(?P<alt>[ACGTN]+)$",
    re.IGNORECASE,
)
REGION = re.compile(
    rf"^{_ASSEMBLY}{_CHROM}[\s:_-]+{_NUMBER.format('start')}\s*[-_]\s*{_NUMBER.format('end')}$",
    re.IGNORECASE,
)
POSITION = re.compile(rf"^{_ASSEMBLY}{_CHROM}[\s:_-]+{_NUMBER.format('pos')}$", re.IGNORECASE)
RSID = re.compile(r"^rs[0-9]{1,12}$", re.IGNORECASE)
# NC_000017.11:g.43045712T>C, NM_007294.4:c.5266dupC, ENST…:c.…, NP_…:p.(Arg1699Trp), BRCA1:p.R1699W
HGVS = re.compile(r"^(?P<reference>[A-Za-z0-9_.()-]+):(?P<kind>[gcnmpr])\.(?P<change>\S+)$")
PROTEIN_CHANGE = re.compile(
    r"^(?:(?P<gene>[A-Za-z0-9-]+)[\s:]+)?p\.\(?(?P<change>[A-Z][a-z]{0,2}\d+[A-Z][a-z]{0,2}|"
    r"[A-Z]\d+[A-Z*=])\)?$"
)
GENE_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,29}(?:\.[0-9]+)?$")
_ASSEMBLY_NAMES = {"grch38": "GRCh38", "hg38": "GRCh38", "grch37": "GRCh37", "hg19": "GRCh37"}
_ASSEMBLY_NAMES["b37"] = "GRCh37"


def assembly_name(text: str | None) -> str | None:
    """The assembly id of a spelling (``hg19`` -> ``GRCh37``); None when none is given."""
    return None if not text else _ASSEMBLY_NAMES.get(text.lower(), text)


def _number(text: str) -> int:
    return int(text.replace(",", "").replace(".", ""))


def _chrom(text: str) -> str:
    upper = text.upper()
    return "MT" if upper in {"M", "MT"} else upper.removeprefix("0") or "0"


@dataclass(frozen=True)
class VariantText:
    """``chrom-pos-ref-alt`` (1-based ``pos``), with the assembly if one was typed."""

    assembly: str | None
    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def slug(self) -> str:
        """The variant page's last path segment: ``17-43045712-T-C``."""
        return f"{self.chrom}-{self.pos}-{self.ref}-{self.alt}"


@dataclass(frozen=True)
class RegionText:
    """``chrom:start-end`` (1-based, inclusive), with the assembly if one was typed."""

    assembly: str | None
    chrom: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def slug(self) -> str:
        """The region page's last path segment: ``17-43044295-43125483``."""
        return f"{self.chrom}-{self.start}-{self.end}"


def read_variant(text: str) -> VariantText | None:
    match = VARIANT.match(text.strip())
    if match is None:
        return None
    return VariantText(
        assembly_name(match["assembly"]),
        _chrom(match["chrom"]),
        _number(match["pos"]),
        match["ref"].upper(),
        match["alt"].upper(),
    )


def read_region(text: str) -> RegionText | None:
    match = REGION.match(text.strip())
    if match is None:
        return None
    start, end = _number(match["start"]), _number(match["end"])
    return RegionText(assembly_name(match["assembly"]), _chrom(match["chrom"]), start, end)


def read_position(text: str, flank: int) -> RegionText | None:
    """A single position as the region ``flank`` bases either side of it."""
    match = POSITION.match(text.strip())
    if match is None:
        return None
    pos = _number(match["pos"])
    chrom = _chrom(match["chrom"])
    return RegionText(assembly_name(match["assembly"]), chrom, max(1, pos - flank), pos + flank)

"""The search box: what a typed text may mean, as choices each leading to a page, or, when it
means nothing this node can show, a message saying why (decision record 0032).

The choices come from the notation (gdi_node.browser.notation), the assemblies the browser
offers and the gene reference; never from the genomes, so typing cannot tell whether anybody
carries a variant: the page a choice opens asks the Beacon, through its privacy gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from gdi_node.beacon.model.assemblies import Assembly, known_assemblies
from gdi_node.browser.genes import Gene, GeneIndex
from gdi_node.browser.messages import Messages
from gdi_node.browser.notation import (
    GENE_SYMBOL,
    HGVS,
    PROTEIN_CHANGE,
    RSID,
    RegionText,
    VariantText,
    read_position,
    read_region,
    read_variant,
)

BASE = "/browser"
MAX_CHOICES = 10
POSITION_FLANK = 50  # a single position opens the 101 bases around it


@dataclass(frozen=True)
class Choice:
    kind: str  # variant, region, gene, hgvs, protein, rsid
    label: str
    path: str
    detail: str = ""

    def document(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "path": self.path, "detail": self.detail}


@dataclass
class SearchAnswer:
    query: str
    choices: list[Choice] = field(default_factory=list)
    message: str = ""

    def document(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "choices": [c.document() for c in self.choices],
            "message": self.message,
        }


class Search:
    """Reads search texts for one node: its browser assemblies, region limit and genes."""

    def __init__(self, assemblies: tuple[str, ...], region_limit: int, genes: GeneIndex) -> None:
        known = known_assemblies()
        self.assemblies: list[Assembly] = []
        for name in assemblies:
            assembly = known.get(name)
            if assembly is None:
                raise ValueError(f"browser.assemblies: unknown assembly {name!r}")
            self.assemblies.append(assembly)
        self.region_limit = region_limit
        self.genes = genes

    def _assemblies_for(self, typed: str | None, text: Messages) -> list[Assembly] | str:
        """The assemblies a typed assembly (or none) allows, or why none does."""
        if typed is None:
            return self.assemblies
        chosen = [a for a in self.assemblies if a.id == typed]
        if not chosen:
            offered = ", ".join(a.id for a in self.assemblies)
            return text.get("search.no_assembly", typed=typed, offered=offered)
        return chosen

    def _sequence(self, assembly: Assembly, chrom: str, last: int, text: Messages) -> str | None:
        """None when ``chrom`` has position ``last`` in ``assembly``; else why not."""
        canonical = assembly.canonical(chrom)
        if canonical is None:
            return text.get("search.no_sequence", chrom=chrom, assembly=assembly.id)
        length = assembly.lengths.get(canonical)
        if length is not None and last > length:
            return text.get(
                "search.beyond_end", chrom=chrom, assembly=assembly.id, length=f"{length:,}"
            )
        return None

    def find(self, query: str, text: Messages) -> SearchAnswer:
        """The choices for ``query`` (stripped), in the language of ``text``."""
        query = " ".join(query.split())
        answer = SearchAnswer(query)
        if not query:
            answer.message = text.get("search.empty")
            return answer
        for reader in (self._as_variant, self._as_region, self._as_identifier, self._as_gene):
            if reader(answer, text):
                return answer
        answer.message = text.get("search.unreadable")
        return answer

    def _as_variant(self, answer: SearchAnswer, text: Messages) -> bool:
        variant = read_variant(answer.query)
        if variant is not None:
            self._variant(answer, variant, text)
        return variant is not None

    def _as_region(self, answer: SearchAnswer, text: Messages) -> bool:
        region = read_region(answer.query) or read_position(answer.query, POSITION_FLANK)
        if region is not None:
            self._region(answer, region, text)
        return region is not None

    def _as_identifier(self, answer: SearchAnswer, text: Messages) -> bool:
        """An rsID, a protein change of a gene or an HGVS expression."""
        query = answer.query
        if RSID.match(query):
            rsid = query.lower()
            path = f"{BASE}/rsid/{rsid}"
            answer.choices.append(Choice("rsid", rsid, path, text.get("kind.rsid")))
            return True
        protein = PROTEIN_CHANGE.match(query)
        if protein is not None and protein["gene"]:
            self._protein(answer, protein["gene"], protein["change"], text)
            return True
        if HGVS.match(query):
            path = f"{BASE}/hgvs/{quote(query, safe='')}"
            answer.choices.append(Choice("hgvs", query, path, text.get("kind.hgvs")))
            return True
        return False

    def _as_gene(self, answer: SearchAnswer, text: Messages) -> bool:
        if GENE_SYMBOL.match(answer.query):
            self._gene(answer, answer.query, text)
            return True
        return False

    def _variant(self, answer: SearchAnswer, variant: VariantText, text: Messages) -> None:
        self._per_assembly(
            answer,
            text,
            (variant.assembly, variant.chrom, variant.pos),
            lambda a: Choice(
                "variant",
                f"{variant.slug} ({a})",
                f"{BASE}/variant/{a}/{variant.slug}",
                text.get("kind.variant"),
            ),
        )

    def _region(self, answer: SearchAnswer, region: RegionText, text: Messages) -> None:
        if region.end < region.start:
            answer.message = text.get("search.region_backwards")
        elif region.length > self.region_limit:
            answer.message = text.get(
                "search.region_too_long",
                length=f"{region.length:,}",
                limit=f"{self.region_limit:,}",
            )
        else:
            shown = f"{region.chrom}:{region.start:,}-{region.end:,}"
            self._per_assembly(
                answer,
                text,
                (region.assembly, region.chrom, region.end),
                lambda a: Choice(
                    "region",
                    f"{shown} ({a})",
                    f"{BASE}/region/{a}/{region.slug}",
                    text.get("kind.region"),
                ),
            )

    def _per_assembly(
        self,
        answer: SearchAnswer,
        text: Messages,
        where: tuple[str | None, str, int],
        choice: Callable[[str], Choice],
    ) -> None:
        """A choice per assembly (the typed one, else each offered) that has position
        ``where`` (typed assembly, sequence, last position); else why none has."""
        typed, chrom, last = where
        allowed = self._assemblies_for(typed, text)
        if isinstance(allowed, str):
            answer.message = allowed
            return
        reasons = []
        for assembly in allowed:
            reason = self._sequence(assembly, chrom, last, text)
            if reason is None:
                answer.choices.append(choice(assembly.id))
            else:
                reasons.append(reason)
        if not answer.choices:
            answer.message = " ".join(reasons)

    def _gene_choice(self, gene: Gene, text: Messages) -> Choice:
        where = f"{gene.chrom}:{gene.start:,}-{gene.end:,} ({gene.assembly})"
        detail = text.get("kind.gene", where=where)
        return Choice("gene", gene.symbol, f"{BASE}/gene/{quote(gene.symbol, safe='')}", detail)

    def _gene(self, answer: SearchAnswer, query: str, text: Messages) -> None:
        exact = self.genes.exact(query)
        seen = set()
        for gene in [*exact, *self.genes.starting(query, MAX_CHOICES)]:
            if gene.symbol not in seen:  # one choice per symbol: its page lists every assembly
                seen.add(gene.symbol)
                answer.choices.append(self._gene_choice(gene, text))
        answer.choices = answer.choices[:MAX_CHOICES]
        if not answer.choices:
            symbol = query.upper() if len(self.genes) == 0 else query
            detail = text.get("kind.annotated_gene")
            path = f"{BASE}/gene/{quote(symbol, safe='')}"
            answer.choices.append(Choice("gene", symbol, path, detail))
            if len(self.genes):
                answer.message = text.get("search.no_gene", symbol=query)

    def _protein(self, answer: SearchAnswer, gene: str, change: str, text: Messages) -> None:
        symbol = (self.genes.exact(gene) or [Gene(gene.upper(), "", "", 0, 0)])[0].symbol
        label = f"{symbol} p.{change}"
        path = f"{BASE}/gene/{quote(symbol, safe='')}?aminoacidChange={quote(change, safe='')}"
        answer.choices.append(Choice("protein", label, path, text.get("kind.protein")))

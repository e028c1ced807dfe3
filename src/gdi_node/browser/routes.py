"""What each page of the browser shows, read from its URL: the Beacon request parameters its
script sends (one record query, paged), its heading, or why the URL names no page.

Stable URLs (decision record 0032), which clinical tools may link to:
``/browser/variant/{assembly}/{chrom}-{pos}-{ref}-{alt}``, ``/browser/gene/{symbol}``
(``?aminoacidChange=V600E``), ``/browser/region/{assembly}/{chrom}-{start}-{end}`` (1-based,
inclusive), ``/browser/hgvs/{expression}`` and ``/browser/rsid/{rsid}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdi_node.beacon.model.annotations import short_protein_change
from gdi_node.browser.messages import Messages
from gdi_node.browser.notation import RSID, read_region, read_variant
from gdi_node.browser.search import Search


@dataclass
class Route:
    """A page: its kind, what its script asks the Beacon, and what the shell says of it."""

    kind: str  # front, variant, gene, region, hgvs, rsid, error
    title: str
    status: int = 200
    fields: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.fields}


def _error(words: Messages, key: str, **values: Any) -> Route:
    message = words.get(key, **values)
    return Route("error", message, 404, {"message": message})


def front(text: Messages, query: str | None) -> Route:
    return Route("front", text.get("front.heading"), fields={"query": query or ""})


def _unknown(search: Search, text: Messages, typed: str) -> Route | None:
    """A 404 page saying why, when the search box would offer no page for ``typed``."""
    found = search.find(typed, text)
    return None if found.choices else Route("error", found.message, 404, {"message": found.message})


def variant(search: Search, text: Messages, assembly: str, slug: str) -> Route:
    parsed = read_variant(slug)
    if parsed is None:
        return _error(text, "error.bad_variant", text=slug)
    unknown = _unknown(search, text, f"{assembly}:{slug}")
    if unknown is not None:
        return unknown
    fields = {"assembly": assembly, "chrom": parsed.chrom, "pos": parsed.pos}
    fields |= {"ref": parsed.ref, "alt": parsed.alt}
    return Route("variant", text.get("variant.heading", variant=parsed.slug), fields=fields)


def region(search: Search, text: Messages, assembly: str, slug: str) -> Route:
    parsed = read_region(slug)
    if parsed is None:
        return _error(text, "error.bad_region", text=slug)
    unknown = _unknown(search, text, f"{assembly}:{parsed.chrom}:{parsed.start}-{parsed.end}")
    if unknown is not None:
        return unknown
    shown = f"{parsed.chrom}:{parsed.start:,}-{parsed.end:,}"
    heading = text.get("heading.region", region=shown, assembly=assembly)
    parameters = {
        "assemblyId": assembly,
        "referenceName": parsed.chrom,
        "start": [parsed.start - 1],
        "end": [parsed.end],
    }
    note = text.get("note.region", region=shown)
    return Route("region", heading, fields=_list(heading, parameters, note))


def _list(heading: str, parameters: dict[str, Any], note: str) -> dict[str, Any]:
    return {"heading": heading, "parameters": parameters, "note": note}


def gene(search: Search, text: Messages, symbol: str, change: str | None) -> Route:
    genes = search.genes.exact(symbol)
    name = genes[0].symbol if genes else symbol
    parameters: dict[str, Any] = {"geneId": name}
    if change:  # the Beacon's form is one-letter (V600E); p.Val600Glu is read as that
        bare = change.removeprefix("p.")
        parameters["aminoacidChange"] = short_protein_change(f"p.{bare}") or bare
        heading = text.get("heading.gene_change", symbol=name, change=parameters["aminoacidChange"])
    else:
        heading = text.get("heading.gene", symbol=name)
    if genes:
        where = "; ".join(f"{g.chrom}:{g.start:,}-{g.end:,} ({g.assembly})" for g in genes)
        note = text.get("note.gene_at", symbol=name, where=where)
    else:
        note = text.get("note.gene", symbol=name)
    return Route("gene", heading, fields=_list(heading, parameters, note))


def hgvs(text: Messages, expression: str) -> Route:
    heading = text.get("heading.hgvs", expression=expression)
    return Route("hgvs", heading, fields=_list(heading, {"genomicAlleleShortForm": expression}, ""))


def rsid(text: Messages, identifier: str) -> Route:
    if not RSID.match(identifier):
        return _error(text, "error.not_found")
    heading = text.get("heading.rsid", rsid=identifier.lower())
    parameters = {"variantAlternativeId": identifier.lower()}
    return Route("rsid", heading, fields=_list(heading, parameters, text.get("kind.rsid")))

"""A record as an HTML page for people (FDP Core draft "Read" allows HTML): the statements of
its graph grouped by subject, IRIs as links, and links to each RDF form of the same document.
No scripts, nothing fetched from elsewhere."""

from __future__ import annotations

from html import escape

from rdflib import BNode, Graph, Literal, URIRef

from gdi_node.catalogue.negotiation import FORMS, HTML


def _term(graph: Graph, term: object) -> str:
    if isinstance(term, URIRef):
        label = graph.namespace_manager.normalizeUri(term)
        return f'<a href="{escape(str(term))}">{escape(label)}</a>'
    if isinstance(term, Literal):
        tag = f" <small>@{escape(term.language)}</small>" if term.language else ""
        return f"{escape(str(term))}{tag}"
    if isinstance(term, BNode):
        return f'<a href="#{escape(str(term))}">[…]</a>'
    return escape(str(term))


def render(graph: Graph, document: URIRef, title: str) -> bytes:
    """The page of ``document``; ``title`` heads it."""
    href = escape(str(document))
    rdf_forms = [f for f in FORMS if f is not HTML]
    alternates = "".join(
        f'<link rel="alternate" type="{f.media_type}" href="{href}?format={f.key}">'
        for f in rdf_forms
    )
    links = " · ".join(f'<a href="{href}?format={f.key}">{f.media_type}</a>' for f in rdf_forms)
    subjects = sorted(
        set(graph.subjects()), key=lambda s: (s != document, isinstance(s, BNode), str(s))
    )
    sections = []
    for subject in subjects:
        rows = "".join(
            f"<tr><td>{_term(graph, p)}</td><td>{_term(graph, o)}</td></tr>"
            for p, o in sorted(
                graph.predicate_objects(subject), key=lambda po: (str(po[0]), str(po[1]))
            )
        )
        anchor = f' id="{escape(str(subject))}"' if isinstance(subject, BNode) else ""
        sections.append(
            f"<section{anchor}><h2>{_term(graph, subject)}</h2><table>{rows}</table></section>"
        )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{alternates}</head><body>"
        f"<h1>{escape(title)}</h1><p>Also as {links}</p>{''.join(sections)}</body></html>"
    )
    return page.encode("utf-8")

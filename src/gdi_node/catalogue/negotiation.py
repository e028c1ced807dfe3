"""Content negotiation of the FAIR Data Point (FDP Core draft "Read"; RFC 9110 §12.5.1): Turtle
when the client states no preference, JSON-LD, RDF/XML and N-Triples on request, HTML only when
a client (a browser) prefers it to every RDF form, 406 when nothing offered is acceptable. A
``?format=`` parameter overrides the header for people typing URLs."""

from __future__ import annotations

from dataclasses import dataclass

from gdi_node.errors import NotAcceptableError


@dataclass(frozen=True)
class Form:
    """One representation: its media type, rdflib's serializer name (None: HTML) and the
    ``?format=`` value that asks for it."""

    media_type: str
    serializer: str | None
    key: str


TURTLE = Form("text/turtle", "turtle", "ttl")
JSON_LD = Form("application/ld+json", "json-ld", "jsonld")
RDF_XML = Form("application/rdf+xml", "xml", "rdf")
N_TRIPLES = Form("application/n-triples", "nt", "nt")
HTML = Form("text/html", None, "html")
FORMS = (TURTLE, JSON_LD, RDF_XML, N_TRIPLES, HTML)  # preference order on ties
_ALIASES = {"application/x-turtle": TURTLE, "text/n3": TURTLE}


def _ranges(accept: str) -> list[tuple[str, float]]:
    """``(media range, q)`` pairs of an Accept header; malformed q-values count as 0."""
    ranges = []
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        if not media:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return ranges


def _quality(form: Form, ranges: list[tuple[str, float]]) -> float:
    """The q-value of the most specific range matching ``form`` (exact > type/* > */*)."""
    best: tuple[int, float] | None = None
    kind = form.media_type.split("/")[0]
    for media, quality in ranges:
        target = _ALIASES.get(media)
        if media == form.media_type or target is form:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, quality)
    return 0.0 if best is None else best[1]


def negotiate(accept: str | None, format_key: str | None = None) -> Form:
    """The form to answer in; raises NotAcceptableError (406) when none is acceptable."""
    if format_key is not None:
        for form in FORMS:
            if form.key == format_key:
                return form
        offered = ", ".join(f.key for f in FORMS)
        raise NotAcceptableError(f"format {format_key!r} is not offered; use one of {offered}")
    if accept is None or not accept.strip():
        return TURTLE
    ranges = _ranges(accept)
    scored = [(_quality(form, ranges), -n, form) for n, form in enumerate(FORMS)]
    quality, _, form = max(scored, key=lambda s: (s[0], s[1]))
    if quality <= 0:
        offered = ", ".join(f.media_type for f in FORMS)
        raise NotAcceptableError(f"none of the accepted media types is offered; offered: {offered}")
    return form  # ties go to the earlier form: HTML wins only when preferred to every RDF form

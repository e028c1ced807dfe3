"""Content negotiation of the FAIR Data Point: q-values, specificity, Turtle on ties and
without a preference, HTML only when preferred to every RDF form, 406 otherwise."""

from __future__ import annotations

import pytest

from gdi_node.catalogue.negotiation import (
    HTML,
    JSON_LD,
    N_TRIPLES,
    RDF_XML,
    TURTLE,
    Form,
    negotiate,
)
from gdi_node.errors import NotAcceptableError

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "form"),
    [
        (None, TURTLE),
        ("", TURTLE),
        ("*/*", TURTLE),
        ("text/*", TURTLE),
        ("application/x-turtle", TURTLE),
        ("text/turtle;q=0.5, application/json;q=0.1", TURTLE),
        ("application/ld+json", JSON_LD),
        ("application/rdf+xml;q=0.9, application/ld+json;q=0.8", RDF_XML),
        ("application/n-triples, */*;q=0.1", N_TRIPLES),
        (FIREFOX, HTML),
        ("text/html;q=0.5, text/turtle;q=0.5", TURTLE),  # a tie is not a preference for HTML
        ("*/*;q=0.5, text/turtle;q=0", JSON_LD),  # an explicit q=0 refuses Turtle
        ("text/turtle;q=bad, application/ld+json;q=0.1", JSON_LD),
    ],
)
def test_the_negotiated_form(accept: str | None, form: Form) -> None:
    assert negotiate(accept) is form


@pytest.mark.parametrize("accept", ["application/pdf", "image/*", "text/turtle;q=0"])
def test_nothing_acceptable_is_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptableError):
        negotiate(accept)


def test_the_format_parameter_wins_and_an_unknown_one_is_not_acceptable() -> None:
    assert negotiate(FIREFOX, "jsonld") is JSON_LD
    with pytest.raises(NotAcceptableError, match="ttl, jsonld, rdf, nt, html"):
        negotiate(None, "pdf")

"""Beacon v2 filters as typed values (framework ``requests/filteringTerms.json``:
``OntologyFilter``, ``AlphanumericFilter``, ``CustomFilter``), from POST objects or GET text.

GET ``filters`` is a comma-joined list; an item is a term id (``HP:0000002``, custom
``libraryStrategy:WGS``) or ``id:OPvalue`` for an alphanumeric filter (``age:>P70Y``,
``LOINC:26515-7:>=150``, ``notes:!%synthetic%``). ``PATO_0000011``-style ids (underscore
CURIEs in URLs) are read as ``PATO:0000011``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gdi_node.beacon.framework.documents import BY_PATH, FILTER_SCOPES
from gdi_node.errors import InvalidInputError

OPERATORS = ("=", "<", ">", "!", ">=", "<=")
SCOPES = FILTER_SCOPES  # a filter's ``scope``, singular or plural -> entry type
# the GDI allele-frequency network's population filters (sexFilter, countryFilter) say
# ``scope: population``; they narrow g_variants counts (decision record 0018)
POPULATION_SCOPE = "population"
# a filter scoped to genomic variants narrows g_variants through the people it matches: any
# record type's terms, and the population filters (filteringTermsResponse ``scopes``)
VARIANT_SCOPE = BY_PATH["g_variants"].id
_VARIANT_NAMES = BY_PATH["g_variants"].names() | {"g_variants"}
# the record types through which a filter narrows g_variants: the people they belong to, or
# every person of a matched dataset (gdi_node.beacon.queries.filter_match)
_THROUGH_PEOPLE = frozenset({"individual", "biosample", "run", "analysis", "dataset"})
_GET_ALPHANUMERIC = re.compile(r"^(?P<id>.+?):(?P<op>>=|<=|>|<|=|!)(?P<value>.*)$")
_UNDERSCORE_CURIE = re.compile(r"^(?P<prefix>[A-Za-z][A-Za-z0-9]*)_(?P<local>\d+)$")


@dataclass(frozen=True)
class Filter:
    id: str
    operator: str | None = None  # None: an ontology or custom term filter
    value: str | None = None
    include_descendants: bool = True
    # an entry type (individual, biosample, …, genomicVariant), population; None: any
    scope: str | None = None

    @property
    def alphanumeric(self) -> bool:
        return self.operator is not None

    def summary(self) -> str:
        return f"{self.id}:{self.operator}{self.value}" if self.alphanumeric else self.id


def _term_id(text: str) -> str:
    text = text.strip()
    match = _UNDERSCORE_CURIE.match(text)
    return f"{match['prefix']}:{match['local']}" if match else text


def _scope(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    if text == POPULATION_SCOPE:
        return POPULATION_SCOPE
    if text in _VARIANT_NAMES:
        return VARIANT_SCOPE
    scope = SCOPES.get(text)
    if scope is None:
        known = {*SCOPES.values(), VARIANT_SCOPE, POPULATION_SCOPE}
        raise InvalidInputError(
            f"filter scope {value!r} is not an entry type of this Beacon"
            f" ({', '.join(sorted(known))})"
        )
    return scope


def from_object(item: Mapping[str, Any]) -> Filter:
    """One POST filter object."""
    term = item.get("id")
    if not isinstance(term, str) or not term.strip():
        raise InvalidInputError("every filter needs an 'id' (a term or a field)")
    operator = item.get("operator")
    value = item.get("value")
    if operator is None and value is not None:
        operator = "="
    if operator is not None:
        if operator not in OPERATORS:
            raise InvalidInputError(
                f"filter {term!r}: operator must be one of {' '.join(OPERATORS)}"
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidInputError(f"filter {term!r}: an operator needs a value")
    descendants = item.get("includeDescendantTerms", True)
    if not isinstance(descendants, bool):
        raise InvalidInputError(f"filter {term!r}: includeDescendantTerms must be true or false")
    return Filter(
        id=_term_id(term),
        operator=operator,
        value=None if value is None else str(value).strip(),
        include_descendants=descendants,
        scope=_scope(item.get("scope")),
    )


def from_get_item(text: str) -> Filter:
    """One item of GET ``filters``."""
    match = _GET_ALPHANUMERIC.match(text.strip())
    if match and match["value"]:
        return Filter(id=_term_id(match["id"]), operator=match["op"], value=match["value"])
    return Filter(id=_term_id(text))


def term_scopes(record_types: frozenset[str]) -> list[str]:
    """A filtering term's ``scopes`` (framework ``FilteringTerm``: the entry types a filter
    on it applies to): the types of the records carrying it and, when those lead to people,
    ``genomicVariant``."""
    scopes = set(record_types)
    if scopes & _THROUGH_PEOPLE:
        scopes.add(VARIANT_SCOPE)
    return sorted(scopes)

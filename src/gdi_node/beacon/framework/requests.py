"""Beacon v2 requests, GET or POST, as one typed value (framework ``beaconRequestBody``,
model ``genomicVariations/requestParameters``).

The spec spells some things two ways; both are accepted (shared/notes/clients.md):
``geneId``/``geneid``, ``genomicAlleleShortForm``/``allele``; POST request parameters flat or
nested under ``g_variant``; GET lists comma-joined (``start=100,200``). Pagination follows the
framework: ``skip`` counts *pages* of ``limit`` records (documented in beacon/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gdi_node.beacon.framework.filters import Filter, from_get_item, from_object
from gdi_node.errors import InvalidInputError

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
# The largest integer a position, length or page number may be: what every JSON client holds
# exactly (RFC 7493 §2.2, I-JSON), far above any sequence length, and small enough that the
# range arithmetic of a query (bins, page offsets of at most MAX_LIMIT) stays within the
# databases' 64-bit integers. Larger values are a 400 naming the parameter.
MAX_INTEGER = 2**53 - 1
_BASES = re.compile(r"^[ACGTUNRYSWKMBDHV]*$")
_ALIASES = {"geneid": "geneId", "allele": "genomicAlleleShortForm"}
# The request parameters of ``/g_variants`` (openapi/beacon.yaml lists the same as GET query
# parameters; a test checks the two agree). A POST body's ``requestParameters`` may name only
# these, as a GET may: one rule for both, an unknown name is a 400, never silently ignored.
VARIANT_PARAMETERS = frozenset(
    {
        "assemblyId",
        "referenceName",
        "start",
        "end",
        "referenceBases",
        "alternateBases",
        "variantType",
        "variantMinLength",
        "variantMaxLength",
        "geneId",
        "geneid",
        "aminoacidChange",
        "genomicAlleleShortForm",
        "allele",
        "mateName",
        "variantAlternativeId",
    }
)


class Granularity(StrEnum):
    BOOLEAN = "boolean"
    COUNT = "count"
    RECORD = "record"

    @property
    def rank(self) -> int:
        return list(Granularity).index(self)


class ResultsetsShown(StrEnum):
    HIT = "HIT"
    MISS = "MISS"
    ALL = "ALL"
    NONE = "NONE"


@dataclass(frozen=True)
class VariantQuery:
    """The ``g_variant`` request parameters (0-based coordinates, Beacon v2)."""

    assembly_id: str | None = None
    reference_name: str | None = None
    start: tuple[int, ...] = ()
    end: tuple[int, ...] = ()
    reference_bases: str | None = None
    alternate_bases: str | None = None
    variant_type: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    gene_id: str | None = None
    aminoacid_change: str | None = None
    genomic_allele_short_form: str | None = None
    alternative_id: str | None = None  # node extension: a dbSNP id (``rs80357906``)

    @property
    def empty(self) -> bool:
        return self == VariantQuery()

    def kind(self) -> str:
        """sequence, range, bracket, gene, aminoacid, hgvs, xref or none; raises on a bad
        mix."""
        if self.genomic_allele_short_form:
            return "hgvs"
        if self.start or self.end or self.reference_name:
            return self._position_kind()
        if self.gene_id:
            return "gene"
        if self.aminoacid_change:
            return "aminoacid"
        if self.alternative_id:
            return "xref"
        if self.alternate_bases or self.reference_bases or self.variant_type:
            raise InvalidInputError(
                "alternateBases, referenceBases and variantType need a position or a geneId"
            )
        return "none"

    def _position_kind(self) -> str:
        if not (self.reference_name and self.start):
            raise InvalidInputError("a position query needs referenceName and start (0-based)")
        if len(self.start) == 2 and len(self.end) == 2:
            return "bracket"
        if len(self.start) == 1 and len(self.end) == 1:
            if self.end[0] <= self.start[0]:
                raise InvalidInputError("end must be greater than start")
            return "range"
        if len(self.start) == 1 and not self.end:
            if self.alternate_bases is None:
                raise InvalidInputError("a sequence query (start without end) needs alternateBases")
            return "sequence"
        raise InvalidInputError(
            "give start alone (sequence query), start and end (range query) or two values"
            " each (bracket query)"
        )


@dataclass(frozen=True)
class BeaconRequest:
    granularity: Granularity | None  # None: the most the caller's permits allow
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    resultsets: ResultsetsShown = ResultsetsShown.HIT
    test_mode: bool = False
    requested_schemas: tuple[dict[str, Any], ...] = ()
    filters: tuple[Filter, ...] = ()
    variant: VariantQuery = VariantQuery()
    parameters: dict[str, Any] = field(default_factory=dict)  # as received, for the summary


def _ints(name: str, value: Any) -> tuple[int, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    try:
        numbers = tuple(int(str(item).strip()) for item in items)
    except ValueError:
        raise InvalidInputError(f"{name} must be one or two integers") from None
    if len(numbers) > 2 or any(n < 0 for n in numbers):
        raise InvalidInputError(f"{name} must be one or two non-negative integers")
    if any(n > MAX_INTEGER for n in numbers):
        raise InvalidInputError(f"{name} must be at most {MAX_INTEGER}")
    return numbers


def _bases(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).upper().replace("-", "").replace(".", "")
    if not _BASES.match(text):
        raise InvalidInputError(f"{name} must be bases [ACGTN…], got {value!r}")
    return text


def _length(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be an integer") from None
    if number < 0:
        raise InvalidInputError(f"{name} must not be negative")
    if number > MAX_INTEGER:
        raise InvalidInputError(f"{name} must be at most {MAX_INTEGER}")
    return number


def variant_query(parameters: Mapping[str, Any]) -> VariantQuery:
    """Request parameters (any spelling) to a VariantQuery."""
    p = {_ALIASES.get(k, k): v for k, v in parameters.items() if v is not None}
    text = {k: str(v).strip() for k, v in p.items() if isinstance(v, str | int) and str(v)}
    return VariantQuery(
        assembly_id=text.get("assemblyId"),
        reference_name=text.get("referenceName"),
        start=_ints("start", p.get("start")),
        end=_ints("end", p.get("end")),
        reference_bases=_bases("referenceBases", p.get("referenceBases")),
        alternate_bases=_bases("alternateBases", p.get("alternateBases")),
        variant_type=text.get("variantType"),
        min_length=_length("variantMinLength", p.get("variantMinLength")),
        max_length=_length("variantMaxLength", p.get("variantMaxLength")),
        gene_id=text.get("geneId"),
        aminoacid_change=text.get("aminoacidChange"),
        genomic_allele_short_form=text.get("genomicAlleleShortForm"),
        alternative_id=_alternative_id(text.get("variantAlternativeId")),
    )


def _alternative_id(value: str | None) -> str | None:
    """A ``variantAlternativeId`` as stored: a dbSNP CURIE (``rs123`` or ``dbSNP:rs123``,
    any case, give ``dbSNP:rs123``); anything else is a 400."""
    if value is None:
        return None
    accession = value.split(":", 1)[1] if value.lower().startswith("dbsnp:") else value
    if not re.fullmatch(r"[rR][sS][0-9]{1,12}", accession):
        raise InvalidInputError(
            f"variantAlternativeId {value!r}: give a dbSNP id, rs80357906 or dbSNP:rs80357906"
        )
    return f"dbSNP:{accession.lower()}"


def _granularity(value: Any) -> Granularity | None:
    if value in (None, ""):
        return None
    try:
        return Granularity(str(value))
    except ValueError:
        raise InvalidInputError(
            f"requestedGranularity must be boolean, count or record, got {value!r}"
        ) from None


def _pagination(skip: Any, limit: Any) -> tuple[int, int]:
    skip_n = _length("skip", skip) or 0
    limit_n = _length("limit", limit)
    limit_n = DEFAULT_LIMIT if limit_n is None else limit_n
    if limit_n == 0 or limit_n > MAX_LIMIT:  # 0 means "no limit" in the framework: capped
        limit_n = MAX_LIMIT
    return skip_n, limit_n


def _resultsets(value: Any) -> ResultsetsShown:
    try:
        return ResultsetsShown(str(value or "HIT").upper())
    except ValueError:
        raise InvalidInputError(
            "includeResultsetResponses must be HIT, MISS, ALL or NONE"
        ) from None


def _filters_from_get(value: Any) -> tuple[Filter, ...]:
    if not value:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(from_get_item(str(item)) for item in items if str(item).strip())


def from_get(args: Mapping[str, Any]) -> BeaconRequest:
    """A GET request's query parameters."""
    skip, limit = _pagination(args.get("skip"), args.get("limit"))
    known = {"requestedGranularity", "skip", "limit", "includeResultsetResponses", "testMode"}
    parameters = {k: v for k, v in args.items() if k not in known and k != "filters"}
    return BeaconRequest(
        granularity=_granularity(args.get("requestedGranularity")),
        skip=skip,
        limit=limit,
        resultsets=_resultsets(args.get("includeResultsetResponses")),
        test_mode=str(args.get("testMode", "")).lower() == "true",
        filters=_filters_from_get(args.get("filters")),
        variant=variant_query(parameters),
        parameters=parameters,
    )


def from_post(body: Mapping[str, Any] | None) -> BeaconRequest:
    """A POST body (framework ``beaconRequestBody``)."""
    body = body or {}
    query = body.get("query") or {}
    meta = body.get("meta") or {}
    pagination = query.get("pagination") or {}
    raw = query.get("requestParameters") or {}
    if not isinstance(raw, dict):
        raise InvalidInputError("query.requestParameters must be an object")
    nested = raw.get("g_variant")
    parameters = dict(nested) if isinstance(nested, dict) else dict(raw)
    unknown = sorted(set(parameters) - VARIANT_PARAMETERS)
    if unknown:
        raise InvalidInputError(
            f"query.requestParameters: unknown parameter(s) {', '.join(unknown)}; known:"
            f" {', '.join(sorted(VARIANT_PARAMETERS, key=str.lower))}"
        )
    raw_filters = query.get("filters") or []
    if not isinstance(raw_filters, list) or not all(isinstance(f, dict) for f in raw_filters):
        raise InvalidInputError("query.filters must be a list of filter objects")
    filters = tuple(from_object(f) for f in raw_filters)
    skip, limit = _pagination(pagination.get("skip"), pagination.get("limit"))
    return BeaconRequest(
        granularity=_granularity(query.get("requestedGranularity")),
        skip=skip,
        limit=limit,
        resultsets=_resultsets(query.get("includeResultsetResponses")),
        test_mode=bool(query.get("testMode", False)),
        requested_schemas=tuple(meta.get("requestedSchemas") or ()),
        filters=filters,
        variant=variant_query(parameters),
        parameters=parameters,
    )

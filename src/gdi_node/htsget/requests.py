"""Ticket requests as htsget 1.3 defines them (§Query parameters, §POST request body)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gdi_node.errors import InvalidInputError, InvalidRangeError, UnsupportedFormatError

Datatype = Literal["reads", "variants"]
FORMATS: dict[str, tuple[str, ...]] = {"reads": ("BAM", "CRAM"), "variants": ("VCF", "BCF")}
DEFAULT_FORMAT = {"reads": "BAM", "variants": "VCF"}
UNPLACED = "*"


@dataclass(frozen=True)
class RequestedRegion:
    reference_name: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class TicketRequest:
    """A validated ticket request; ``regions`` None means the whole file."""

    datatype: Datatype
    format: str
    header_only: bool
    regions: tuple[RequestedRegion, ...] | None
    fields: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    notags: tuple[str, ...] | None = None


def _region(name: Any, start: Any, end: Any, datatype: Datatype) -> RequestedRegion:
    if name is None:
        if start is not None or end is not None:
            raise InvalidInputError("start and end need a referenceName")
        raise InvalidInputError("a region needs a referenceName")
    if name == UNPLACED:
        if datatype != "reads":
            raise InvalidInputError("referenceName '*' (unplaced unmapped reads) is for reads only")
        if start is not None or end is not None:
            raise InvalidInputError("referenceName '*' takes no start or end")
    if start is not None and end is not None and start > end:
        raise InvalidRangeError(f"start {start} is greater than end {end}")
    return RequestedRegion(str(name), start, end)


def _check_tags(tags: Sequence[str] | None, notags: Sequence[str] | None) -> None:
    both = sorted(set(tags or ()) & set(notags or ()))
    if both:
        raise InvalidInputError(f"tags and notags both name {', '.join(both)}")


def ticket_request(
    datatype: Datatype, options: Mapping[str, Any], regions: Sequence[RequestedRegion] | None
) -> TicketRequest:
    """Check the combination of parameters (GET query or POST body names) and build the
    request; ``regions`` None means the whole file."""
    chosen = options.get("format") or DEFAULT_FORMAT[datatype]
    if chosen not in FORMATS[datatype]:
        raise UnsupportedFormatError(
            f"{datatype} are served as {' or '.join(FORMATS[datatype])}, not {chosen}"
        )
    fields, tags, notags = options.get("fields"), options.get("tags"), options.get("notags")
    _check_tags(tags, notags)
    header_only = options.get("class") == "header"
    return TicketRequest(
        datatype=datatype,
        format=chosen,
        header_only=header_only,
        regions=None if header_only or regions is None else tuple(regions),
        fields=tuple(fields) if fields else None,
        tags=tuple(tags) if tags else None,
        notags=tuple(notags) if notags else None,
    )


def from_query(datatype: Datatype, params: Mapping[str, Any]) -> TicketRequest:
    """GET: a single region from referenceName/start/end."""
    name, start, end = params.get("referenceName"), params.get("start"), params.get("end")
    regions = None
    if name is not None or start is not None or end is not None:
        regions = [_region(name, start, end, datatype)]
    return ticket_request(datatype, params, regions)


def from_body(datatype: Datatype, body: Mapping[str, Any] | None) -> TicketRequest:
    """POST: any number of regions; an absent ``regions`` means the whole file."""
    body = body or {}
    raw_regions = body.get("regions")
    regions = None
    if raw_regions is not None:
        regions = [
            _region(r.get("referenceName"), r.get("start"), r.get("end"), datatype)
            for r in raw_regions
        ]
    return ticket_request(datatype, body, regions)
